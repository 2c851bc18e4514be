"""Assistants and runs that take their instructions from a prompt: resolved when the run is
created, recorded on the run, changed for new runs only by moving a label."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from assistants import AsyncClient
from assistants.errors import BadRequestError, NotFoundError
from store.types import PromptReference, Run


def _used(run: Run) -> dict[str, Any]:
    """The prompt a run recorded (name, version, label)."""
    assert run.prompt is not None
    return {"name": run.prompt.name, "version": run.prompt.version, "label": run.prompt.label}


async def _support_prompt(client: AsyncClient) -> None:
    await client.prompts.create(name="support")
    await client.prompts.versions.create("support", instructions="V1: help {{customer}}.")
    await client.prompts.versions.create(
        "support",
        messages=[
            {"role": "system", "content": "V2: help {{customer}}."},
            {"role": "developer", "content": [{"type": "text", "text": "Be brief."}]},
            {"role": "user", "content": "An example question"},
        ],
    )
    await client.prompts.labels.set("support", label="prod", version=1)


async def test_assistant_prompt__label_move_changes_new_runs_only(client: AsyncClient) -> None:
    """Runs of a prompt-backed assistant record the version `prod` held at their creation;
    moving the label changes the next run's instructions, not the earlier run's."""
    await _support_prompt(client)
    assistant = await client.assistants.create(
        model="test", prompt={"name": "support", "label": "prod"}
    )
    assert assistant.prompt == PromptReference(name="support", label="prod")
    assert assistant.to_dict()["prompt"] == {"name": "support", "label": "prod"}
    first = await client.threads.create_and_run(
        assistant_id=assistant.id, variables={"customer": "Ada"}
    )
    assert first.instructions == "V1: help Ada."
    assert _used(first) == {"name": "support", "version": 1, "label": "prod"}
    await client.prompts.labels.set("support", label="prod", version=2, expected_version=1)
    second = await client.threads.create_and_run(
        assistant_id=assistant.id, variables={"customer": "Bob"}
    )
    assert second.instructions == "V2: help Bob.\n\nBe brief."
    assert _used(second) == {"name": "support", "version": 2, "label": "prod"}
    again = await client.threads.runs.retrieve(first.id, thread_id=first.thread_id)
    assert (again.instructions, _used(again)["version"]) == ("V1: help Ada.", 1)
    assert (await client.assistants.retrieve(assistant.id)).instructions is None


async def test_run_prompt__overrides_and_pinned_versions(client: AsyncClient) -> None:
    """A run's own `prompt` (here a pinned version) wins over its assistant's; literal run
    `instructions` win over the assistant's prompt; an assistant pinned to a version ignores
    label moves."""
    await _support_prompt(client)
    pinned = await client.assistants.create(model="test", prompt={"name": "support", "version": 2})
    thread = await client.threads.create()
    run = await client.threads.runs.create(
        thread.id,
        assistant_id=pinned.id,
        prompt={"name": "support", "label": "prod"},
        variables={"customer": "Cy"},
    )
    assert (run.instructions, _used(run)) == (
        "V1: help Cy.",
        {"name": "support", "version": 1, "label": "prod"},
    )
    await client.threads.runs.cancel(run.id, thread_id=thread.id)
    literal = await client.threads.create_and_run(assistant_id=pinned.id, instructions="Plain.")
    assert literal.instructions == "Plain."
    assert literal.prompt is None
    await client.prompts.labels.set("support", label="prod", version=2)
    kept = await client.threads.create_and_run(assistant_id=pinned.id, variables={"customer": "Di"})
    assert _used(kept) == {"name": "support", "version": 2, "label": None}
    updated = await client.assistants.update(pinned.id, prompt=None, instructions="Own words.")
    assert updated.prompt is None
    plain = await client.threads.create_and_run(assistant_id=pinned.id)
    assert plain.instructions == "Own words."


async def test_prompt_runs__bad_input(client: AsyncClient) -> None:
    """Unknown prompt, version or label are 404s when set; both instructions and a prompt, a
    missing variable, a template that renders empty are 400s; a label deleted under an
    assistant makes new runs fail at creation with a 400 naming the assistant, and leaves the
    earlier runs as they were."""
    await _support_prompt(client)
    await client.prompts.create(name="blank")
    await client.prompts.versions.create("blank", instructions="{{nothing}}")
    await client.prompts.versions.create(
        "blank", messages=[{"role": "user", "content": "only a user turn"}]
    )
    with pytest.raises(NotFoundError, match="No label 'beta' found for prompt 'support'"):
        await client.assistants.create(model="test", prompt={"name": "support", "label": "beta"})
    with pytest.raises(NotFoundError, match="No prompt found with name 'ghost'"):
        await client.assistants.create(model="test", prompt={"name": "ghost"})
    with pytest.raises(NotFoundError, match="No version 7"):
        await client.assistants.create(model="test", prompt={"name": "support", "version": 7})
    with pytest.raises(BadRequestError, match="not both") as both:
        await client.assistants.create(
            model="test", instructions="x", prompt={"name": "support", "version": 1}
        )
    assert both.value.param == "prompt"
    with pytest.raises(BadRequestError, match="either 'version' or 'label'"):
        await client.assistants.create(
            model="test", prompt={"name": "support", "version": 1, "label": "prod"}
        )
    with pytest.raises(BadRequestError, match="Unrecognized argument in 'prompt': tag"):
        await client.assistants.create(model="test", prompt={"name": "support", "tag": "x"})
    assistant = await client.assistants.create(
        model="test", prompt={"name": "support", "label": "prod"}
    )
    with pytest.raises(BadRequestError, match="Missing variable 'customer'") as missing:
        await client.threads.create_and_run(assistant_id=assistant.id)
    assert missing.value.param == "variables.customer"
    thread = await client.threads.create()
    with pytest.raises(BadRequestError, match="not both"):
        await client.threads.runs.create(
            thread.id, assistant_id=assistant.id, instructions="x", prompt={"name": "support"}
        )
    with pytest.raises(NotFoundError, match="No label 'canary'"):
        await client.threads.runs.create(
            thread.id, assistant_id=assistant.id, prompt={"name": "support", "label": "canary"}
        )
    with pytest.raises(BadRequestError, match="renders to an empty template") as empty:
        await client.threads.runs.create(
            thread.id,
            assistant_id=assistant.id,
            prompt={"name": "blank", "version": 1},
            variables={"nothing": "  "},
        )
    assert empty.value.code == "empty_prompt"
    with pytest.raises(BadRequestError, match="gives no instructions"):
        await client.threads.runs.create(
            thread.id, assistant_id=assistant.id, prompt={"name": "blank", "version": 2}
        )
    earlier = await client.threads.create_and_run(
        assistant_id=assistant.id, variables={"customer": "Ed"}
    )
    await client.prompts.labels.delete("support", label="prod")
    with pytest.raises(BadRequestError, match=f"The assistant {assistant.id} takes") as gone:
        await client.threads.create_and_run(
            assistant_id=assistant.id, variables={"customer": "Fay"}
        )
    assert (gone.value.code, gone.value.param) == ("prompt_unavailable", "prompt")
    kept = await client.threads.runs.retrieve(earlier.id, thread_id=earlier.thread_id)
    assert (kept.instructions, _used(kept)["version"]) == ("V1: help Ed.", 1)
    with pytest.raises(BadRequestError, match=f"assistant\\(s\\) {assistant.id}"):
        await client.prompts.delete("support")
    await client.assistants.update(assistant.id, prompt=None)
    assert (await client.prompts.delete("support")).deleted


@asynccontextmanager
async def _operator(client: AsyncClient, database_url: str) -> AsyncIterator[AsyncClient]:
    """Another process's client on the same database (the same client for in-memory SQLite)."""
    if database_url.endswith(":memory:"):
        yield client
        return
    async with AsyncClient(database_url=database_url, worker=False) as other:
        yield other


async def test_label_move_while_an_app_creates_runs(client: AsyncClient, database_url: str) -> None:
    """An app keeps creating runs while an operator (another client) moves `prod` from
    version 1 to 2: every run used the version the label held when it was created, its
    instructions are that version's, and once the move is seen every later run uses 2."""
    await _support_prompt(client)
    assistant = await client.assistants.create(
        model="test", prompt={"name": "support", "label": "prod"}
    )
    halfway, moved = anyio.Event(), anyio.Event()
    runs: list[Run] = []
    after_move = 0

    async def app() -> None:
        nonlocal after_move
        while after_move < 5:
            seen_move = moved.is_set()
            run = await client.threads.create_and_run(
                assistant_id=assistant.id, variables={"customer": f"c{len(runs)}"}
            )
            runs.append(run)
            after_move += seen_move
            if len(runs) == 5:
                halfway.set()
            await anyio.lowlevel.checkpoint()

    async with _operator(client, database_url) as operator:

        async def move() -> None:
            await halfway.wait()
            await operator.prompts.labels.set(
                "support", label="prod", version=2, expected_version=1
            )
            moved.set()

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(app)
                tg.start_soon(move)
    versions = [_used(r)["version"] for r in runs]
    assert versions[:5] == [1] * 5
    assert versions[-5:] == [2] * 5
    assert versions == sorted(versions)  # never back to 1 once a run used 2
    for i, run in enumerate(runs):
        stored = await client.threads.runs.retrieve(run.id, thread_id=run.thread_id)
        expected = f"V1: help c{i}." if versions[i] == 1 else f"V2: help c{i}.\n\nBe brief."
        assert (stored.instructions, _used(stored)) == (
            expected,
            {"name": "support", "version": versions[i], "label": "prod"},
        )
    (label,) = (await client.prompts.labels.list("support")).data
    assert [(m.from_version, m.to_version) for m in label.history] == [(None, 1), (1, 2)]


async def test_prompt_run__trace_names_the_prompt(live_client: AsyncClient) -> None:
    """A prompt-backed run's root span names the prompt, version and label it used."""
    await _support_prompt(live_client)
    assistant = await live_client.assistants.create(
        model="test", prompt={"name": "support", "label": "prod"}
    )
    with anyio.fail_after(30):
        run = await live_client.threads.create_and_run_poll(
            assistant_id=assistant.id,
            thread={"messages": [{"role": "user", "content": "hi"}]},
            variables={"customer": "Gus"},
        )
    assert run.status == "completed"
    assert run.span_id is not None
    span = await live_client.spans.retrieve(run.span_id)
    assert (span.kind, span.metadata) == (
        "run",
        {"prompt_name": "support", "prompt_version": "1", "prompt_release_label": "prod"},
    )
