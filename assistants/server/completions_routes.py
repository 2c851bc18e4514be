"""`POST /v1/chat/completions`: one stateless call to any configured model, as OpenAI serves it.

The body is openai's (plus the extensions of `client.chat.completions.create`, which the SDKs
send through `extra_body`); the answer a `chat.completion` object, or with `"stream": true`
server-sent events of `chat.completion.chunk`s ending with `data: [DONE]`. A failure before
the first chunk is an HTTP error like any other; one after it is sent as a last
`data: {"error": {...}}` event (which the SDKs raise), without `[DONE]`.

The operator's rules: a tenant may not bring its own provider `api_key` / `api_base` unless the
server runs with `--allow-request-provider-keys`, and even then an `api_base` must be a base URL
this server is configured with (a named endpoint, a configured local server, a vendor base URL
from the environment), and the server's own keys are never sent with it. Models resolve as for
runs: only providers the operator configured are called.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from assistants._client import AsyncClient
from assistants.server.deps import caller_client
from assistants.server.guard import read_json_body
from assistants.server.openapi import operation
from assistants.server.wire import data_sse
from runtime.completions import AsyncCompletionStream
from store.completion_types import ChatCompletion
from store.errors import BadRequestError

router = APIRouter()


@router.post(
    "/v1/chat/completions",
    response_model=None,
    **operation(
        "createChatCompletion",
        "Create a chat completion",
        "Chat",
        "ChatCompletion",
        body="CreateChatCompletionRequest",
        body_required=True,
        streams="ChatCompletionStreamEvent",
    ),
)
async def create_chat_completion(request: Request) -> Response:
    client: AsyncClient = caller_client(request)
    body = await read_json_body(request)
    _check_provider_overrides(client, body)
    model = body.pop("model", None)
    messages = body.pop("messages", None)
    # `stream` travels in `extra_body`: either answer may come back.
    result: ChatCompletion | AsyncCompletionStream = await client.chat.completions.create(
        model=model, messages=messages, extra_body=body
    )
    if isinstance(result, AsyncCompletionStream):
        return data_sse(result)
    return JSONResponse(result.to_dict())


def _check_provider_overrides(client: AsyncClient, body: dict[str, Any]) -> None:
    """Refuse a tenant's own `api_key` / `api_base` unless the operator allows them, and an
    `api_base` the server is not configured with in any case."""
    given = [name for name in ("api_key", "api_base") if body.get(name) is not None]
    if not given:
        return
    if not client.settings.allow_request_provider_keys:
        raise BadRequestError(
            f"'{given[0]}' is not accepted by this server: provider keys and base URLs are the "
            "operator's (who may allow them with --allow-request-provider-keys).",
            param=given[0],
            code="request_provider_keys_disabled",
        )
    base = body.get("api_base")
    if base is None:
        return
    configured = client.chat.completions._ctx.router.configured_base_urls()
    if not isinstance(base, str) or base.rstrip("/") not in configured:
        raise BadRequestError(
            "'api_base' must be a base URL this server is configured with (a named endpoint, "
            "a configured local server, or a vendor base URL set by the operator).",
            param="api_base",
            code="api_base_not_configured",
        )
