"""OpenTelemetry export of the stored spans (the `otel` extra), in the GenAI conventions.

`OtelExporter` is a `runtime.tracing.SpanExporter`: the tracer hands it every batch it stored,
and it turns each finished span into an OpenTelemetry span for an SDK `SpanExporter`, by
default the OTLP/HTTP one, configured by the standard `OTEL_EXPORTER_OTLP_*` variables
(`..._ENDPOINT`, `..._HEADERS`, `..._TIMEOUT`, their `..._TRACES_*` forms). The SDK's batch
processor sends from its own thread: the event loop never waits on the backend.

Ids map one to one: our `tr_` + 32 hex digits is the OpenTelemetry trace id, our `sp_` + 16
hex digits the span id, so a span found in either system is found in the other by the same hex.
Attributes follow the GenAI semantic conventions: `gen_ai.operation.name` (`chat` for model
calls and completions, `execute_tool`, `invoke_agent` for a run), `gen_ai.provider.name`,
`gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.usage.input_tokens`,
`gen_ai.usage.output_tokens`, `gen_ai.tool.name`, `gen_ai.tool.call.id`,
`gen_ai.conversation.id` (the thread), `gen_ai.agent.id` (the assistant), `error.type`; ours
under `assistants.*` (cost, tags, run and session ids). Content (prompts, outputs) is not
exported: it stays in the store, where `store_content` governs it.

A span is exported once it has ended: model calls and completions at once; a run when it stops
(the executor hands over the whole root span); a tool call when its output comes back, if this
process saw it open. A backend that is down loses the batches it refused (`failures`, with a
warning); runs never notice.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export import SpanExporter as SdkExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode

from store.log import get_logger
from store.span_types import SpanEnd, SpanRecord

log = get_logger("assistants.otel")

_OPERATIONS = {"model": "chat", "completion": "chat", "tool": "execute_tool", "run": "invoke_agent"}
_OPEN_MAX = 10_000  # open spans remembered until their end comes (oldest forgotten first)
_SCOPE = InstrumentationScope("assistants-runtime")


def trace_id_int(trace_id: str) -> int:
    """`tr_` + 32 hex digits as the OpenTelemetry trace id."""
    return int(trace_id[3:], 16)


def span_id_int(span_id: str) -> int:
    """`sp_` + 16 hex digits as the OpenTelemetry span id."""
    return int(span_id[3:], 16)


def _ns(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


def attributes(span: SpanRecord) -> dict[str, Any]:
    """The span's attributes in the GenAI semantic conventions (ours under `assistants.`)."""
    attrs: dict[str, Any] = {"gen_ai.operation.name": _OPERATIONS.get(span.kind, span.kind)}
    pairs: list[tuple[str, Any]] = [
        ("gen_ai.provider.name", span.provider),
        ("gen_ai.request.model", span.requested_model),
        ("gen_ai.response.model", span.model),
        ("gen_ai.usage.input_tokens", span.prompt_tokens),
        ("gen_ai.usage.output_tokens", span.completion_tokens),
        ("gen_ai.conversation.id", span.thread_id),
        ("gen_ai.agent.id", span.assistant_id),
        ("assistants.kind", span.kind),
        ("assistants.run_id", span.run_id),
        ("assistants.cost_usd", span.cost),
        ("assistants.user_id", span.user_id),
        ("session.id", span.session_id),
        ("assistants.group_id", span.group_id),
        ("assistants.retries", span.retries or None),
        ("time_to_first_token_ms", span.time_to_first_token_ms),
    ]
    for key, value in pairs:
        if value is not None:
            attrs[key] = value
    if span.tags:
        attrs["assistants.tags"] = list(span.tags)
    if span.fallbacks:
        attrs["assistants.fallbacks_failed"] = [f.get("model", "") for f in span.fallbacks]
    if span.kind == "tool":
        attrs["gen_ai.tool.name"] = span.name.removeprefix("execute_tool ")
        call_id = (span.metadata or {}).get("tool_call_id")
        if call_id:
            attrs["gen_ai.tool.call.id"] = call_id
    if span.error:
        attrs["error.type"] = str(span.error.get("code") or "error")
    return attrs


def to_otel(span: SpanRecord, resource: Resource) -> ReadableSpan:
    """The OpenTelemetry form of a finished span (ids mapped one to one)."""
    trace_id = trace_id_int(span.trace_id)
    context = SpanContext(
        trace_id, span_id_int(span.id), is_remote=False, trace_flags=TraceFlags(1)
    )
    parent = None
    if span.parent_span_id:
        parent = SpanContext(
            trace_id, span_id_int(span.parent_span_id), is_remote=True, trace_flags=TraceFlags(1)
        )
    failed = span.status in ("failed", "expired") or span.error is not None
    status = (
        Status(StatusCode.ERROR, str((span.error or {}).get("message") or span.status))
        if failed
        else Status(StatusCode.OK)
    )
    return ReadableSpan(
        name=span.name,
        context=context,
        parent=parent,
        resource=resource,
        attributes=attributes(span),
        kind=SpanKind.CLIENT if span.kind in ("model", "completion") else SpanKind.INTERNAL,
        status=status,
        start_time=_ns(span.started_at),
        end_time=_ns(span.ended_at if span.ended_at is not None else span.started_at),
        instrumentation_scope=_SCOPE,
    )


class _Counting(SdkExporter):
    """The SDK exporter, with its refusals counted and warned about (the backend may be down)."""

    def __init__(self, inner: SdkExporter, owner: OtelExporter) -> None:
        self.inner = inner
        self.owner = owner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # noqa: BLE001  (never let the backend reach the caller)
            log.warning("otel_export_failed", error=str(exc))
            result = SpanExportResult.FAILURE
        if result is SpanExportResult.FAILURE:
            self.owner.failures += 1
            log.warning("otel_export_failed", lost=len(spans), failures=self.owner.failures)
        else:
            self.owner.exported += len(spans)
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.inner.force_flush(timeout_millis)


class OtelExporter:
    """Stored spans to an OpenTelemetry SDK exporter (OTLP/HTTP from the environment unless one
    is given), through the SDK's batch processor."""

    def __init__(
        self, exporter: SdkExporter | None = None, *, service_name: str = "assistants-runtime"
    ) -> None:
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
                OTLPSpanExporter,
            )

            exporter = OTLPSpanExporter()
        self.failures = 0
        """Batches the backend refused or could not take (each lost)."""
        self.exported = 0
        self.resource = Resource.create({"service.name": service_name})
        self.processor = BatchSpanProcessor(_Counting(exporter, self))
        self._open: OrderedDict[str, SpanRecord] = OrderedDict()

    def export(self, items: Sequence[SpanRecord | SpanEnd]) -> None:
        for item in items:
            if isinstance(item, SpanRecord):
                if item.ended_at is None:
                    self._open[item.id] = item
                    if len(self._open) > _OPEN_MAX:
                        self._open.popitem(last=False)
                else:
                    self.processor.on_end(to_otel(item, self.resource))
                continue
            span = self._open.pop(item.id, None) or item.span
            if span is None:
                continue  # opened in another process: its end alone cannot make a span
            closed = SpanRecord(
                **{
                    **{f: getattr(span, f) for f in SpanRecord.__dataclass_fields__},
                    "ended_at": item.ended_at,
                    "status": item.status or span.status,
                }
            )
            self.processor.on_end(to_otel(closed, self.resource))

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self.processor.force_flush(timeout_millis)

    def shutdown(self) -> None:
        self.processor.shutdown()  # type: ignore[no-untyped-call]
