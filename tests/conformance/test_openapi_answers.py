"""What the server really answers, held to the document: every operation of chat completions,
prompts, files, vector stores, spans and traces and the run events extension is called once
with a request that succeeds, through schemathesis, and its `200` answer must match the
documented response schema (the view of a client generated from the document, such as the SDKs'
own types). The fuzzer reaches most of these answers by chance; this reaches each of them, the
deletes included (the fuzzer never deletes the objects it shares)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from assistants import AsyncClient
from tests.conformance.conftest import LiveServer

TIMEOUT = 15.0
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
TAGS = {"Chat", "Prompts", "Files", "Vector stores", "Tracing"}
MULTIPART = "multipart/form-data"


def _finished_run(http: httpx.Client) -> dict[str, Any]:
    assistant = http.post("/assistants", json={"model": "test"}).json()
    run: dict[str, Any] = http.post(
        "/threads/runs",
        json={"assistant_id": assistant["id"], "thread": {"messages": []}},
    ).json()
    for _ in range(200):
        run = http.get(
            f"/threads/{run['thread_id']}/runs/{run['id']}",
            headers={"x-stainless-poll-helper": "true"},
        ).json()
        if run["status"] not in ("queued", "in_progress"):
            break
    assert run["status"] == "completed", run
    return run


@dataclass
class Calls:
    """Requests made through the document, and the answers that did not match it."""

    schema: Any = None
    called: list[tuple[str, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def __call__(
        self,
        method: str,
        route: str,
        body: Any = None,
        media: str = "application/json",
        path: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> Any:
        """Call the operation; its answer must be a `200` that matches the document."""
        operation = self.schema["/v1" + route][method]
        if body is None:
            case = operation.Case(path_parameters=path, query=query)
        else:
            case = operation.Case(path_parameters=path, query=query, body=body, media_type=media)
        response = case.call(timeout=TIMEOUT)
        self.called.append((method, "/v1" + route))
        if response.status_code != 200:
            self.failures.append(f"{method} {route}: {response.status_code} {response.text}")
            return {}
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as exc:
            self.failures.append(f"{method} {route}: {exc}")
        if response.headers["content-type"][0].startswith("application/json"):
            return json.loads(response.content)
        return response.content

    def use(self, server: LiveServer) -> None:
        self.schema = schemathesis.openapi.from_url(
            f"{server.base_url.removesuffix('/v1')}/openapi.json",
            config=schemathesis.Config(),
            timeout=TIMEOUT,
        )


def _client(tmp_path: Path, name: str, *, worker: bool = True) -> AsyncClient:
    return AsyncClient(
        database_url=f"sqlite+aiosqlite:///{tmp_path / name}",
        poll_seconds=0.05,
        sweep_seconds=0.05,
        worker=worker,
    )


def test_every_extension_answer_matches_the_document(tmp_path: Path) -> None:
    call = Calls()
    with (
        LiveServer(_client(tmp_path, "answers.db")) as server,
        httpx.Client(base_url=server.base_url, timeout=TIMEOUT) as http,
    ):
        call.use(server)
        documented = [
            (method.upper(), path)
            for path, item in call.schema.raw_schema["paths"].items()
            for method, spec in item.items()
            if set(spec["tags"]) & TAGS or spec["operationId"] == "streamRunEvents"
        ]
        run = _finished_run(http)
        call(
            "GET",
            "/threads/{thread_id}/runs/{run_id}/events",
            path={"thread_id": run["thread_id"], "run_id": run["id"]},
        )
        completion = call(
            "POST",
            "/chat/completions",
            {"model": "test", "messages": [{"role": "user", "content": "hi"}]},
        )
        found = call("GET", "/spans/{span_id}", path={"span_id": completion.get("span_id")})
        call("GET", "/spans", query={"trace_id": found.get("trace_id"), "limit": 5})
        call("GET", "/traces/{trace_id}", path={"trace_id": found.get("trace_id")})

        name = {"name": "welcome"}
        call("POST", "/prompts", {"name": "welcome", "description": "Greets"})
        call("GET", "/prompts")
        call(
            "POST",
            "/prompts/{name}/versions",
            {"instructions": "Greet {{who}}.", "model": "test"},
            path=name,
        )
        call("GET", "/prompts/{name}/versions", path=name)
        call("POST", "/prompts/{name}/labels", {"label": "prod", "version": 1}, path=name)
        call("GET", "/prompts/{name}/labels", path=name)
        call("GET", "/prompts/{name}", path=name, query={"label": "prod"})
        call("POST", "/prompts/{name}/run", {"input_variables": {"who": "Ada"}}, path=name)
        call("DELETE", "/prompts/{name}/labels/{label}", path={**name, "label": "prod"})
        call("DELETE", "/prompts/{name}", path=name)

        upload = call(
            "POST",
            "/files",
            {"file": b"The weather in Paris is sunny.", "purpose": "assistants"},
            media=MULTIPART,
        )
        file = {"file_id": upload.get("id")}
        call("GET", "/files", query={"purpose": "assistants"})
        call("GET", "/files/{file_id}", path=file)
        call("GET", "/files/{file_id}/content", path=file)

        made = call("POST", "/vector_stores", {"name": "notes"})
        store = {"vector_store_id": made.get("id")}
        call("GET", "/vector_stores")
        call("GET", "/vector_stores/{vector_store_id}", path=store)
        call("POST", "/vector_stores/{vector_store_id}", {"name": "weather"}, path=store)
        call(
            "POST",
            "/vector_stores/{vector_store_id}/files",
            {"file_id": file["file_id"], "attributes": {"city": "Paris"}},
            path=store,
        )
        call("GET", "/vector_stores/{vector_store_id}/files", path=store)
        in_store = {**store, **file}
        call("GET", "/vector_stores/{vector_store_id}/files/{file_id}", path=in_store)
        call(
            "POST",
            "/vector_stores/{vector_store_id}/files/{file_id}",
            {"attributes": {"city": "Lyon"}},
            path=in_store,
        )
        call("POST", "/vector_stores/{vector_store_id}/search", {"query": "weather"}, path=store)
        batch = call(
            "POST",
            "/vector_stores/{vector_store_id}/file_batches",
            {"file_ids": [file["file_id"]]},
            path=store,
        )
        in_batch = {**store, "batch_id": batch.get("id")}
        call("GET", "/vector_stores/{vector_store_id}/file_batches/{batch_id}", path=in_batch)
        call("GET", "/vector_stores/{vector_store_id}/file_batches/{batch_id}/files", path=in_batch)
        call("DELETE", "/vector_stores/{vector_store_id}/files/{file_id}", path=in_store)
        call("DELETE", "/vector_stores/{vector_store_id}", path=store)
        call("DELETE", "/files/{file_id}", path=file)
    # A batch still in progress, to cancel: no worker ingests its file.
    with LiveServer(_client(tmp_path, "idle.db", worker=False)) as server:
        call.use(server)
        upload = call("POST", "/files", {"file": b"text", "purpose": "assistants"}, media=MULTIPART)
        made = call("POST", "/vector_stores", {"name": "idle"})
        batch = call(
            "POST",
            "/vector_stores/{vector_store_id}/file_batches",
            {"file_ids": [upload.get("id")]},
            path={"vector_store_id": made.get("id")},
        )
        assert batch.get("status") == "in_progress", batch
        call(
            "POST",
            "/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel",
            path={"vector_store_id": made.get("id"), "batch_id": batch.get("id")},
        )
    assert call.failures == []
    assert sorted(set(call.called)) == sorted(documented)
