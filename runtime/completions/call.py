"""One completion call (`Call`): its routes (the model, then each of `fallbacks`, resolved up
front), the request each is sent, the hand-over to the next model before any output, what the
answer has said so far (as OpenAI's chunks and, at the end, one `ChatCompletion`), and the
report to the engine's sinks. `api_error` is the caller's error for a provider's failure.
`runtime.completions.engine` drives it.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, TypeVar, cast

from runtime.completions.params import CompletionParams
from runtime.completions.record import CallStatus, FinishedCall
from runtime.providers.base import (
    Chunk,
    Finish,
    ModelRequest,
    ProviderCallError,
    TextDelta,
    ToolCallDelta,
    UsageChunk,
)
from runtime.providers.router import ProviderRouter, Route
from store.completion_types import ChatCompletion, ChatCompletionChunk
from store.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
)
from store.log import get_logger
from store.span_types import new_span_id

if TYPE_CHECKING:
    from runtime.completions.engine import Completions

log = get_logger("assistants.completions")

M = TypeVar("M", ChatCompletion, ChatCompletionChunk)


def cost_of(
    prices: dict[str, dict[str, float]], label: str, prompt: int, completion: int
) -> float | None:
    """USD for the tokens of one call to `label`, from the `prices` setting (per million)."""
    price = prices.get(label)
    if price is None:
        return None
    total = prompt * price.get("prompt", 0.0) + completion * price.get("completion", 0.0)
    return round(total / 1_000_000, 8)


class Call:
    """One call: its routes, the model answering, and what the answer has said so far."""

    def __init__(
        self, engine: Completions, params: CompletionParams, project: str, *, stream: bool
    ) -> None:
        self.engine = engine
        self.params = params
        self.project = project
        self.streamed = stream
        self.id = f"chatcmpl-{secrets.token_hex(12)}"
        self.created = int(time.time())
        self.span_id = params.span_id or new_span_id()
        self.started_at = time.time()
        self.started = time.perf_counter()
        self.failed: list[dict[str, str]] = []
        self.route: Route | None = None
        self.label = params.model
        self.text: list[str] = []
        self.calls: dict[int, list[str]] = {}  # dense index -> [id, name, arguments...]
        self.indices: dict[int, int] = {}  # the adapter's index -> dense index
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.finish: str | None = None
        self.latency_ms: float | None = None
        self._reported = False
        self._rest: AsyncGenerator[Chunk, None] | None = None
        router = engine.router
        retries = params.num_retries
        first = router.resolve_call(
            params.model,
            provider=params.provider,
            api_key=params.api_key,
            api_base=params.api_base,
            max_retries=retries,
        )
        self.routes = [first]
        for i, model in enumerate(params.fallbacks):
            self.routes.append(self._fallback(router, model, f"fallbacks[{i}]", first))

    def _fallback(self, router: ProviderRouter, model: str, param: str, first: Route) -> Route:
        """A fallback's route: with the call's own `api_key` / `api_base` only when it is served
        by the same provider as the first model (a key is never sent to another vendor)."""
        params = self.params
        if params.api_key is not None or params.api_base is not None:
            try:
                route = router.resolve_call(
                    model,
                    api_key=params.api_key,
                    api_base=params.api_base,
                    max_retries=params.num_retries,
                    param=param,
                )
            except BadRequestError:
                route = None
            if route is not None and _provider(route) == _provider(first):
                return route
        return router.resolve_call(model, max_retries=params.num_retries, param=param)

    def _request(self, route: Route) -> ModelRequest:
        p = self.params
        return ModelRequest(
            model=route.model,
            messages=p.messages,
            tools=p.tools,
            tool_choice=p.tool_choice if p.tool_choice is not None else "auto",
            parallel_tool_calls=p.parallel_tool_calls,
            temperature=p.temperature,
            top_p=p.top_p,
            max_tokens=p.max_tokens,
            response_format=p.response_format,
            stop=p.stop,
            timeout=p.timeout,
        )

    async def open(self) -> list[Chunk]:
        """Ask each model in turn until one answers; its first chunk(s)."""
        last: APIError | None = None
        for i, route in enumerate(self.routes):
            chunks = route.provider.stream(self._request(route))
            try:
                first = await chunks.__anext__()
            except ProviderCallError as exc:
                await chunks.aclose()
                if exc.usage is not None:
                    self.prompt_tokens += exc.usage.prompt_tokens
                    self.completion_tokens += exc.usage.completion_tokens
                last = api_error(exc)
                self.failed.append(
                    {"model": route.label, "code": last.code or "", "error": exc.message}
                )
                if i + 1 < len(self.routes):
                    log.warning(
                        "provider_fallback",
                        failed=route.label,
                        next=self.routes[i + 1].label,
                        error=exc.message,
                    )
                continue
            except StopAsyncIteration:
                await chunks.aclose()
                raise ProviderError(
                    f"Provider '{route.label}' ended its answer without a word", code="server_error"
                ) from None
            except BaseException:
                await chunks.aclose()
                raise
            self.route = route
            self.label = route.label
            self._rest = chunks
            return [first]
        assert last is not None
        if len(self.routes) > 1:
            detail = "; ".join(f"{f['model']}: {f['error']}" for f in self.failed)
            error = type(last)(
                f"All {len(self.routes)} models failed: {detail}", param=last.param, code=last.code
            )
            error.retry_after = last.retry_after
            raise error
        raise last

    def answer(self) -> AsyncGenerator[Chunk, None]:
        """The provider's chunks after the first (its `ProviderCallError`s as they are)."""
        assert self._rest is not None
        return self._rest

    @property
    def open_answer(self) -> bool:
        """Whether the provider's answer is still open (not read to its end, nor closed)."""
        return self._rest is not None

    async def close(self) -> None:
        """Close the provider's answer (its HTTP response), read to the end or not."""
        if self._rest is not None:
            rest, self._rest = self._rest, None
            await rest.aclose()

    def take(self, chunk: Chunk) -> ChatCompletionChunk | None:
        """Remember `chunk`; its OpenAI chunk, if it says anything."""
        if isinstance(chunk, TextDelta):
            self.text.append(chunk.text)
            return self.chunk({"content": chunk.text}) if self.streamed else None
        if isinstance(chunk, ToolCallDelta):
            index = self.indices.setdefault(chunk.index, len(self.indices))
            parts = self.calls.setdefault(index, ["", ""])
            if chunk.id:
                parts[0] = chunk.id
            if chunk.name:
                parts[1] = chunk.name
            parts.append(chunk.arguments)
            if not self.streamed:
                return None
            first = chunk.id is not None
            call = {
                "index": index,
                "id": chunk.id,
                "type": "function" if first else None,
                "function": {
                    "name": chunk.name,
                    "arguments": chunk.arguments if chunk.arguments or first else None,
                },
            }
            return self.chunk({"tool_calls": [call]})
        if isinstance(chunk, UsageChunk):
            self.prompt_tokens += chunk.prompt_tokens
            self.completion_tokens += chunk.completion_tokens
            return None
        assert isinstance(chunk, Finish)
        self.finish = chunk.reason
        self.latency_ms = round((time.perf_counter() - self.started) * 1000, 3)
        return self.chunk({}, finish=chunk.reason) if self.streamed else None

    def chunk(self, delta: dict[str, Any], finish: Any = None) -> ChatCompletionChunk:
        """One chunk saying `delta` (a `ChunkDelta`'s fields), validated in one pass from plain
        data: several times cheaper than building its nested models one by one."""
        return _validated(
            ChatCompletionChunk,
            {
                "id": self.id,
                "created": self.created,
                "model": self.label,
                "choices": [{"delta": delta, "finish_reason": finish}],
            },
        )

    def last_chunk(self) -> ChatCompletionChunk:
        """The usage chunk: no choices, the usage, and the extensions."""
        return _validated(
            ChatCompletionChunk,
            {
                "id": self.id,
                "created": self.created,
                "model": self.label,
                "choices": [],
                "usage": self.usage(),
                **self.extensions(),
            },
        )

    def usage(self) -> dict[str, int]:
        """The `usage` object's fields."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }

    @property
    def cost(self) -> float | None:
        return cost_of(
            self.engine.settings.prices, self.label, self.prompt_tokens, self.completion_tokens
        )

    def extensions(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "provider": self.label.partition("/")[0] if self.route else None,
            "cost": self.cost,
            "latency_ms": self.latency_ms,
            "span_id": self.span_id,
            "fallbacks_failed": self.failed,
        }
        out.update(self.params.trace)
        return out

    def completion(self) -> ChatCompletion:
        """The answer so far as one `ChatCompletion` (the whole answer once finished), validated
        in one pass from plain data."""
        calls = [
            {"id": parts[0], "function": {"name": parts[1], "arguments": "".join(parts[2:])}}
            for _, parts in sorted(self.calls.items())
        ]
        text = "".join(self.text)
        message = {"content": text if text or not calls else None, "tool_calls": calls or None}
        return _validated(
            ChatCompletion,
            {
                "id": self.id,
                "created": self.created,
                "model": self.label,
                "choices": [{"message": message, "finish_reason": self.finish or "stop"}],
                "usage": self.usage(),
                **self.extensions(),
            },
        )

    async def report(
        self, status: CallStatus, error: APIError | None, output: ChatCompletion | None = None
    ) -> None:
        """Tell the engine's sinks about this call (once)."""
        if self._reported or not self.engine._sinks:
            return
        self._reported = True
        latency = self.latency_ms
        if latency is None:
            latency = round((time.perf_counter() - self.started) * 1000, 3)
        record = FinishedCall(
            project=self.project,
            span_id=self.span_id,
            status=status,
            requested_model=self.params.model,
            model=self.label if self.route else None,
            provider=self.label.partition("/")[0] if self.route else None,
            messages=self.params.messages,
            output=output,
            error=error,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            cost=self.cost if self.route else None,
            latency_ms=latency,
            started_at=self.started_at,
            stream=self.streamed,
            fallbacks_failed=list(self.failed),
            trace=dict(self.params.trace),
        )
        await self.engine._tell(record)  # each sink's wait, if any, shielded there


def _validated(model: type[M], data: dict[str, Any]) -> M:
    """`model.model_validate(data)` through the model's core validator itself: the same
    validation without the method's Python wrapper, a fifth of the time of a chunk's."""
    return cast(M, model.__pydantic_validator__.validate_python(data))


def _provider(route: Route) -> str:
    """The provider's name of a route (`openai` for `openai/gpt-4o`)."""
    return route.label.partition("/")[0]


def api_error(exc: ProviderCallError) -> APIError:
    """The caller's error for a provider's failure (see the module docstring)."""
    message = exc.message
    error: APIError
    if exc.status == 403:
        error = PermissionDeniedError(message, code="provider_permission_denied")
    elif exc.status == 401 or message.startswith("Authentication failed"):
        error = AuthenticationError(message, code="provider_authentication_failed")
    elif exc.code == "rate_limit_exceeded":
        error = RateLimitError(message, code="rate_limit_exceeded")
        error.retry_after = exc.retry_after
    elif exc.code == "invalid_prompt":
        error = BadRequestError(message, code="provider_rejected_request")
    elif _timed_out(exc):
        error = ProviderError(message, code="timeout")
    else:
        error = ProviderError(message, code="provider_error")
    return error


def _timed_out(exc: ProviderCallError) -> bool:
    """Whether the provider call failed on httpx's timeout (httpx loads with the first HTTP
    provider, so a failure without it loaded was not one)."""
    httpx = sys.modules.get("httpx")
    return httpx is not None and isinstance(exc.__cause__, httpx.TimeoutException)
