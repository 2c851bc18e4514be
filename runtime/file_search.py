"""The `file_search` tool inside a run: the model sees it as a function with a `query`; when it
calls it, the runtime searches the run's vector stores itself (no `requires_action`), records a
`tool_calls` step whose call is of type `file_search` (with `ranking_options` and the results:
file ids, names, scores, content), and calls the model again with the results.

The results reach the model as lines `【r:i†filename】 text` (round `r` of the run's searches,
result `i`). Markers the answer repeats become `file_citation` annotations on the final
message, each cutting exactly its marker's text and naming the cited file.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from runtime.embeddings import Embedder
from runtime.providers.base import ToolCall
from store.base import now
from store.errors import APIError, BadRequestError, LostClaim
from store.filetypes import VectorStoreSearchResult
from store.log import get_logger
from store.records import RunRecord, StepRecord
from store.rows import STEP_COLUMNS, dumps, loads, step_dict
from store.store import Store
from store.types import RunEvent

log = get_logger("assistants.file_search")

NAME = "file_search"
DEFAULT_RESULTS = 20
MAX_ROUNDS = 3
THREAD_FILES_WAIT_SECONDS = 60.0
"""How long a search waits for files of the thread's vector store still being ingested (the
hosted API's fallback for files attached just before the run); the assistant's stores are
searched as they are."""
"""Searches one run may make; then the tool is withdrawn and the model must answer."""
STEP_EVENT = "thread.run.step."
STEP_DELTA = "thread.run.step.delta"
MARKER = re.compile(r"【(\d+):(\d+)†([^】]*)】")

FUNCTION = {
    "type": "function",
    "function": {
        "name": NAME,
        "description": (
            "Search the files attached to this conversation. Returns passages, each marked "
            "【r:i†source】; quote a passage's marker when you use it."
        ),
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "What to look for."}},
            "required": ["query"],
        },
    },
}


def tool_config(run_tools: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The run's `file_search` tool settings, or None without the tool."""
    for tool in run_tools:
        if tool.get("type") == NAME:
            return dict(tool.get(NAME) or {})
    return None


def rounds(steps: Sequence[StepRecord]) -> list[dict[str, Any]]:
    """The run's completed searches, in order: each `{call_id: {"files": [...]}}` from its step."""
    return [s.extensions[NAME] for s in steps if s.type == "tool_calls" and NAME in s.extensions]


def is_search(calls: list[Any]) -> bool:
    return bool(calls) and all(c.name == NAME for c in calls)


async def vector_store_ids(store: Store, run: RunRecord) -> tuple[list[str], list[str]]:
    """The stores a run searches: its assistant's and its thread's `file_search` resources
    (all of them, and the thread's)."""
    named: list[list[str]] = []
    for table, key in (("assistants", run.assistant_id), ("threads", run.thread_id)):
        row = await store.db.fetchrow(
            f"SELECT tool_resources FROM {table} WHERE id = :id", {"id": key}
        )
        resources = loads(row["tool_resources"]) if row is not None else None
        named.append(list(((resources or {}).get(NAME) or {}).get("vector_store_ids") or []))
    return list(dict.fromkeys(named[0] + named[1])), named[1]


async def search(
    store: Store,
    run: RunRecord,
    calls: list[Any],
    config: dict[str, Any],
    round_index: int,
    embedder: Embedder | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any], list[ToolCall]]:
    """Run the model's searches: the step's `file_search` calls, what the step keeps for the
    next prompt and the citations (`extensions.file_search`), and the calls as the model made
    them. With an `embedder`, each query is embedded and the search is hybrid."""
    vs_ids = await _searchable_stores(store, run)
    limit = int(config.get("max_num_results") or DEFAULT_RESULTS)
    ranking = dict(config.get("ranking_options") or {})
    ranking.setdefault("ranker", "default_2024_08_21")
    ranking.setdefault("score_threshold", 0.0)
    details, kept, model_calls = [], {}, []
    for call in calls:
        try:
            query = str(json.loads(call.arguments or "{}").get("query") or "")
        except (ValueError, AttributeError):
            query = call.arguments or ""
        results = (
            await _results(store, run, vs_ids, query, limit, ranking, embedder) if vs_ids else []
        )
        await store.vector_stores.touch(run.project, vs_ids)
        lines = [
            f"【{round_index}:{i}†{r.filename}】 {r.content[0].text}" for i, r in enumerate(results)
        ]
        details.append(_call_details(call.id, ranking, results))
        kept[call.id] = {
            "query": query,
            "output": "\n".join(lines) if lines else "No results found in the files.",
            "files": [r.file_id for r in results],
        }
        model_calls.append(ToolCall(call.id, NAME, call.arguments))
        log.info("file_search", run_id=run.id, results=len(results), stores=len(vs_ids))
    return details, {NAME: kept}, model_calls


async def _searchable_stores(store: Store, run: RunRecord) -> list[str]:
    """The run's vector stores, once the thread's own files are ingested (a while at most);
    an expired or deleted store fails the search."""
    vs_ids, thread_ids = await vector_store_ids(store, run)
    expired = await store.vector_stores.expired(run.project, vs_ids)
    if expired:
        raise SearchFailed(
            f"The vector store '{expired[0]}' has expired (or was deleted): file_search cannot "
            "run. Create a new vector store and attach it."
        )
    await store.vector_stores.wait_ingested(thread_ids, THREAD_FILES_WAIT_SECONDS)
    return vs_ids


async def _results(
    store: Store,
    run: RunRecord,
    vs_ids: list[str],
    query: str,
    limit: int,
    ranking: dict[str, Any],
    embedder: Embedder | None,
) -> list[VectorStoreSearchResult]:
    """One query's results from the run's stores, hybrid when an `embedder` embeds it."""
    vector = None
    if embedder is not None and query.strip():
        try:
            vector = await embedder.query(query)
        except APIError as exc:
            raise SearchFailed(exc.message) from exc
    try:
        results = await store.vector_stores.search(
            run.project,
            vs_ids,
            query,
            limit=limit,
            score_threshold=float(ranking["score_threshold"]),
            vector=vector,
        )
    except BadRequestError as exc:  # chunks of another embedding model
        raise SearchFailed(exc.message) from exc
    return results


def _call_details(
    call_id: str, ranking: dict[str, Any], results: list[VectorStoreSearchResult]
) -> dict[str, Any]:
    """A `file_search` call as its step shows it: the ranking options and the results."""
    return {
        "id": call_id,
        "type": NAME,
        NAME: {
            "ranking_options": ranking,
            "results": [
                {
                    "file_id": r.file_id,
                    "file_name": r.filename,
                    "score": r.score,
                    "content": [{"type": "text", "text": r.content[0].text}],
                }
                for r in results
            ],
        },
    }


class SearchFailed(Exception):
    """The run cannot search (an expired store, an embedding model that fails): it fails with
    this message."""


def citations(text: str, searches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`file_citation` annotations for the markers in `text` that name a search result."""
    out = []
    for match in MARKER.finditer(text):
        round_index, result = int(match.group(1)), int(match.group(2))
        if round_index >= len(searches):
            continue
        files = [f for call in searches[round_index].values() for f in call.get("files", [])]
        if result >= len(files):
            continue
        out.append(
            {
                "type": "file_citation",
                "text": match.group(0),
                "start_index": match.start(),
                "end_index": match.end(),
                "file_citation": {"file_id": files[result]},
            }
        )
    return out


async def complete_step(
    store: Store,
    run_id: str,
    worker_id: str,
    *,
    step_id: str,
    tool_calls: list[dict[str, Any]],
    extensions: dict[str, Any],
    step_usage: dict[str, int],
    run_usage: dict[str, int],
) -> None:
    """Complete the search step (the run keeps its claim and goes on) and log its event."""
    async with store.db.transaction() as tx:
        held = await tx.fetchrow(
            "UPDATE runs SET usage = :u WHERE id = :id AND worker_id = :w "
            "AND status = 'in_progress' RETURNING id",
            {"u": dumps(run_usage), "id": run_id, "w": worker_id},
        )
        if held is None:
            raise LostClaim(run_id)
        done = await tx.fetchrow(
            "UPDATE run_steps SET status = 'completed', completed_at = :t, step_details = :d, "
            "usage = :u, extensions = :e WHERE id = :id AND status = 'in_progress' "
            f"RETURNING {STEP_COLUMNS}",
            {
                "t": now(),
                "d": dumps({"type": "tool_calls", "tool_calls": tool_calls}),
                "u": dumps(step_usage),
                "e": dumps(extensions),
                "id": step_id,
            },
        )
        if done is None:
            raise LostClaim(run_id)
        await store.log.append(tx, run_id, [("thread.run.step.completed", step_dict(done))])
    store.log.wake(run_id)


def for_model(step: StepRecord) -> tuple[ToolCall, ...] | None:
    """A completed search step as the model's tool calls (None if it is not one)."""
    kept = step.extensions.get(NAME)
    if not kept:
        return None
    return tuple(
        ToolCall(i, NAME, json.dumps({"query": kept.get(i, {}).get("query", "")}))
        for i in step.searches
    )


def without_result_content(step: dict[str, Any]) -> dict[str, Any]:
    """A run step (as the API shows it) whose file_search results leave out their `content`:
    what steps and stream events carry unless `include` asks for the content."""
    details = step.get("step_details") or {}
    calls = details.get("tool_calls") or []
    if not any(c.get("type") == NAME and (c.get(NAME) or {}).get("results") for c in calls):
        return step
    trimmed = [
        {
            **c,
            NAME: {
                **c[NAME],
                "results": [
                    {k: v for k, v in r.items() if k != "content"} for r in c[NAME]["results"]
                ],
            },
        }
        if c.get("type") == NAME and (c.get(NAME) or {}).get("results")
        else c
        for c in calls
    ]
    return {**step, "step_details": {**details, "tool_calls": trimmed}}


async def events_without_result_content(
    source: AsyncGenerator[RunEvent, None],
) -> AsyncGenerator[RunEvent, None]:
    """A run's events with the steps they carry `without_result_content` (deltas pass as they
    are: a file_search call's delta carries no results). Closing it closes `source`, so a
    stream stopped early leaves no generator to be finalized by the collector."""
    async with contextlib.aclosing(source):
        async for event in source:
            if event.event.startswith(STEP_EVENT) and event.event != STEP_DELTA:
                data = without_result_content(event.data)
                yield RunEvent(event.run_id, event.seq, event.event, data)
            else:
                yield event


def output_for_model(step: StepRecord, call_id: str) -> str:
    return str(step.extensions.get(NAME, {}).get(call_id, {}).get("output", ""))
