"""The request bodies the document writes by hand, held to what the server's validation accepts.

Chat completions, prompts, file uploads and vector stores read their bodies by hand, so their
schemas are written from the validation's own lists of accepted fields and limits: each schema
names exactly the fields its route accepts, and over HTTP a documented field is never refused
as unknown while an undocumented one is (where the schema forbids other keys).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from assistants import AsyncClient
from assistants.server import KeyRing, ServerSettings, create_app
from assistants.server.openapi import build_schema
from assistants.validation import completions as cv
from assistants.validation import prompts as pv
from assistants.validation import vector_stores as vv
from tests.conformance.conftest import LiveServer

TIMEOUT = 15.0


def _schemas() -> dict[str, Any]:
    app = create_app(
        AsyncClient(database_url="sqlite+aiosqlite:///:memory:"),
        ServerSettings(keys=KeyRing([])),
        manage_client=False,
    )
    schemas: dict[str, Any] = build_schema(app)["components"]["schemas"]
    return schemas


SCHEMAS = _schemas()

# Each hand-written body and the fields its validation accepts (its own list where it has one).
ACCEPTED: dict[str, set[str]] = {
    "CreateChatCompletionRequest": set(cv.KNOWN_PARAMS),
    "CreatePromptRequest": set(pv.PROMPT_PARAMS),
    "CreatePromptVersionRequest": set(pv.VERSION_PARAMS),
    "SetPromptLabelRequest": set(pv.LABEL_PARAMS),
    "RunPromptRequest": set(pv.RUN_PARAMS),
    "CreateFileRequest": {"file", "purpose", "expires_after[anchor]", "expires_after[seconds]"},
    "CreateVectorStoreRequest": set(vv.STORE_PARAMS),
    "UpdateVectorStoreRequest": set(vv.STORE_UPDATE_PARAMS),
    "CreateVectorStoreFileRequest": set(vv.FILE_PARAMS),
    "UpdateVectorStoreFileRequest": {"attributes"},
    "CreateVectorStoreFileBatchRequest": set(vv.BATCH_PARAMS),
    "SearchVectorStoreRequest": {"query", *vv.SEARCH_OPTIONS},
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_body_names_exactly_the_accepted_fields(name: str) -> None:
    assert set(SCHEMAS[name]["properties"]) == ACCEPTED[name]


def test_unsupported_completion_parameters_document_their_neutral_values() -> None:
    """An OpenAI parameter this server cannot honour is documented with the only values it
    accepts, and the `enum` keeps `False` apart from `0`."""
    properties = SCHEMAS["CreateChatCompletionRequest"]["properties"]
    for name, neutral in cv.NEUTRAL_PARAMS.items():
        documented = properties[name]["enum"]
        assert all(value in documented for value in neutral), name
        assert all(value in neutral for value in documented), name
    assert properties["logprobs"]["enum"] == [None, False]


# Over HTTP: the route of each JSON body, with the objects it needs.
ROUTES: dict[str, str] = {
    "CreateChatCompletionRequest": "/chat/completions",
    "CreatePromptRequest": "/prompts",
    "CreatePromptVersionRequest": "/prompts/{name}/versions",
    "SetPromptLabelRequest": "/prompts/{name}/labels",
    "RunPromptRequest": "/prompts/{name}/run",
    "CreateVectorStoreRequest": "/vector_stores",
    "UpdateVectorStoreRequest": "/vector_stores/{vector_store_id}",
    "CreateVectorStoreFileRequest": "/vector_stores/{vector_store_id}/files",
    "UpdateVectorStoreFileRequest": "/vector_stores/{vector_store_id}/files/{file_id}",
    "CreateVectorStoreFileBatchRequest": "/vector_stores/{vector_store_id}/file_batches",
    "SearchVectorStoreRequest": "/vector_stores/{vector_store_id}/search",
}


def test_the_server_refuses_exactly_the_undocumented_fields(tmp_path: Path) -> None:
    """Every documented field, sent as null, is not refused as unknown; a field the document
    does not name is, wherever the schema forbids other keys."""
    client = AsyncClient(database_url=f"sqlite+aiosqlite:///{tmp_path / 'bodies.db'}")
    outcomes: dict[str, tuple[int, Any, int, Any]] = {}
    with (
        LiveServer(client) as server,
        httpx.Client(base_url=server.base_url, timeout=TIMEOUT) as http,
    ):
        upload = http.post(
            "/files", files={"file": ("a.txt", b"text")}, data={"purpose": "assistants"}
        )
        file_id = upload.json()["id"]
        store = http.post("/vector_stores", json={"file_ids": [file_id]}).json()["id"]
        http.post("/prompts", json={"name": "p"}).raise_for_status()
        ids = {"name": "p", "vector_store_id": store, "file_id": file_id}
        for name, route in ROUTES.items():
            path = route.format(**ids)
            documented = dict.fromkeys(SCHEMAS[name]["properties"])
            known = http.post(path, json=documented)
            unknown = http.post(path, json={"not_a_field": 1})
            outcomes[name] = (
                known.status_code,
                known.json(),
                unknown.status_code,
                unknown.json(),
            )
    for name, (status, body, unknown_status, unknown_body) in outcomes.items():
        if status != 200:
            assert body["error"]["code"] != "unknown_parameter", (name, body)
        if SCHEMAS[name].get("additionalProperties") is False:
            assert unknown_status == 400, (name, unknown_body)
            assert unknown_body["error"]["code"] == "unknown_parameter", (name, unknown_body)
            assert unknown_body["error"]["message"] == (
                "Unrecognized request argument supplied: not_a_field"
            )
