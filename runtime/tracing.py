"""Tracing: spans for runs, model calls and tool calls, written in the background.

`Tracer.record` never waits: it appends to a bounded buffer and returns. A background task
(`Tracer.run`, in the client's or the worker's task group) writes what gathered every
`trace_flush_seconds`, `WRITE_CHUNK` spans to a transaction (`store.spans`), then hands each
chunk to the exporters (OpenTelemetry, `runtime.otel`). A full buffer drops new spans, counting them
(`dropped`) with a warning; a write that fails (the database away) drops its chunk, counting
it (`failed`) with a warning. Either way the run goes on untouched.

Readers in this process call `flush()` first, so a span recorded before a call returned is
visible to the next read. A run's trace fields (`tags`, `user_id`, `session_id`, whether to
keep content, whether to trace at all) are fixed when it is created and kept in its
`extensions`, the thread's `tags`, `user_id` and `session_id` standing in for those it leaves
out; every span of the run carries them (`runtime.trace_context`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

import anyio
import anyio.lowlevel
import anyio.to_thread
from anyio.abc import TaskStatus

from runtime.completions.record import FinishedCall
from runtime.providers.base import ChatMessage
from runtime.settings import Settings
from runtime.trace_context import RunTrace
from store import span_types as sp
from store.errors import ConfigurationError
from store.log import get_logger
from store.span_types import SpanEnd, SpanRecord
from store.store import Store

log = get_logger("assistants.tracing")

WRITE_CHUNK = 64
"""Spans written in one transaction. On SQLite a write runs inline on the event loop: a whole
flush of a busy second (hundreds of spans) held the loop for 6-9 ms in one step; 64 take ~1 ms,
and other tasks run between chunks."""


class SpanExporter(Protocol):
    """Receives every batch after it is stored (or, for `send_trace=False`, never)."""

    def export(self, items: Sequence[SpanRecord | SpanEnd]) -> None: ...

    def shutdown(self) -> None: ...


def prompt_message(message: ChatMessage) -> dict[str, Any]:
    """A prompt message as a span keeps it (what the model saw; never a credential)."""
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls
        ]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def configured_exporters(settings: Settings) -> list[SpanExporter]:
    """The exporters the settings ask for: OpenTelemetry (OTLP/HTTP, configured by the
    `OTEL_EXPORTER_OTLP_*` variables) with `otel_export`."""
    if not settings.otel_export:
        return []
    try:
        from runtime.otel import OtelExporter  # noqa: PLC0415  (the optional `otel` extra)
    except ImportError as exc:
        raise ConfigurationError(
            "otel_export needs the OpenTelemetry SDK: pip install 'assistants-runtime[otel]' "
            f"({exc})."
        ) from None
    return [OtelExporter()]


class Tracer:
    """The background span writer of one store (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        exporters: Sequence[SpanExporter] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.exporters = (
            list(exporters) if exporters is not None else configured_exporters(settings)
        )
        self.capacity = settings.trace_queue_size
        self.dropped = 0
        """Spans dropped because the buffer was full."""
        self.failed = 0
        """Spans lost because their batch could not be written."""
        self.export_failures = 0
        """Batches an exporter could not take."""
        self.written = 0
        self._buffer: list[SpanRecord | SpanEnd | FinishedCall] = []
        self._wake: anyio.Event | None = None
        self._lock: anyio.Lock | None = None
        self._full = False  # warned about the current overflow already

    @property
    def enabled(self) -> bool:
        return self.settings.tracing

    def record(self, item: SpanRecord | SpanEnd | FinishedCall) -> None:
        """Queue a span (or a span's end, or a model call whose span the writer builds) for the
        writer; never blocks, never raises."""
        if len(self._buffer) >= self.capacity:
            self.dropped += 1
            if not self._full:
                self._full = True
                log.warning("spans_dropped", dropped=self.dropped, capacity=self.capacity)
            return
        self._buffer.append(item)
        if self._wake is not None:
            self._wake.set()

    async def flush(self) -> None:
        """Write every queued span now, in order, `WRITE_CHUNK` to a transaction with the loop
        free between them, and export each chunk once it is written."""
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if not self._buffer:
                return
            queued, self._buffer = self._buffer, []
            self._full = False
            for start in range(0, len(queued), WRITE_CHUNK):
                if start:
                    await anyio.lowlevel.checkpoint()
                await self._write(queued[start : start + WRITE_CHUNK])

    async def _write(self, queued: list[SpanRecord | SpanEnd | FinishedCall]) -> None:
        try:
            batch = [
                self._completion_span(item) if isinstance(item, FinishedCall) else item
                for item in queued
            ]
            await self.store.spans.write(batch)
        except Exception as exc:  # noqa: BLE001  (tracing never fails what it traces)
            self.failed += len(queued)
            log.warning("spans_write_failed", error=str(exc), lost=len(queued), failed=self.failed)
            return
        self.written += len(batch)
        for exporter in self.exporters:
            try:
                exporter.export(batch)
            except Exception as exc:  # noqa: BLE001  (a tracing backend may be down)
                self.export_failures += 1
                log.warning("spans_export_failed", error=str(exc), failures=self.export_failures)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Write batches until cancelled; what is queued then is written before returning."""
        self._wake = anyio.Event()
        if self._buffer:
            self._wake.set()
        try:
            async with anyio.create_task_group() as tg:
                if self.settings.trace_retention_days is not None:
                    tg.start_soon(self._prune_loop)
                task_status.started()
                while True:
                    await self._wake.wait()
                    self._wake = anyio.Event()
                    await anyio.sleep(self.settings.trace_flush_seconds)
                    await self.flush()
        finally:
            with anyio.CancelScope(shield=True):
                await self.flush()

    async def prune_expired(self) -> int:
        """Delete the spans older than `trace_retention_days` (every project's); returns how
        many. A failure is a warning: the next pass tries again."""
        days = self.settings.trace_retention_days
        if days is None:
            return 0
        try:
            removed = await self.store.spans.prune(time.time() - days * 86400)
        except Exception as exc:  # noqa: BLE001  (the database may be away; retried next pass)
            log.warning("spans_prune_failed", error=str(exc))
            return 0
        if removed:
            log.info("spans_pruned", removed=removed, retention_days=days)
        return removed

    async def _prune_loop(self) -> None:
        """Prune at start, then every hour (or every retention period, if shorter)."""
        days = self.settings.trace_retention_days or 0
        while True:
            await self.prune_expired()
            await anyio.sleep(min(3600.0, days * 86400))

    async def close(self) -> None:
        """Write what is queued, then stop the exporters (sending what they hold)."""
        await self.flush()
        exporters, self.exporters = self.exporters, []
        for exporter in exporters:
            try:
                await anyio.to_thread.run_sync(exporter.shutdown)
            except Exception as exc:  # noqa: BLE001  (a backend that is down changes nothing)
                log.warning("spans_export_failed", error=str(exc))

    def open_tools(self, trace: RunTrace, calls: Sequence[dict[str, Any]]) -> None:
        """Record the tool calls a run paused for, open until their outputs come back."""
        now = time.time()
        for call in calls:
            function = call["function"]
            self.record(
                trace.span(
                    id=trace.tool_span_id(call["id"]),
                    kind="tool",
                    name=f"execute_tool {function['name']}",
                    status="in_progress",
                    started_at=now,
                    input={"arguments": function["arguments"]} if trace.store_content else None,
                    metadata={"tool_call_id": call["id"]},
                )
            )

    async def end_run(self, store: Store, run_id: str, status: str) -> None:
        """Record the end of a run that stopped outside a worker (cancelled while waiting)."""
        run = await store.runs.record(run_id)
        trace = None if run is None else RunTrace.of(run, self.settings)
        if trace is not None:
            self.record(SpanEnd(trace.span_id, time.time(), status, span=trace.root()))

    async def close_tools(
        self, store: Store, run_id: str, outputs: Sequence[dict[str, str]]
    ) -> None:
        """End the tool spans of a run whose outputs were just submitted."""
        run = await store.runs.record(run_id)
        trace = None if run is None else RunTrace.of(run, self.settings)
        if trace is None:
            return
        now = time.time()
        for output in outputs:
            span_id = trace.tool_span_id(output["tool_call_id"])
            # The whole span too, in case the worker that opened it has not written it yet.
            opened = trace.span(
                id=span_id,
                kind="tool",
                name="execute_tool",
                status="in_progress",
                started_at=now,
                metadata={"tool_call_id": output["tool_call_id"]},
            )
            self.record(
                SpanEnd(
                    span_id,
                    now,
                    status="completed",
                    output={"output": output["output"]} if trace.store_content else None,
                    span=opened,
                )
            )

    def record_completion(self, call: FinishedCall) -> None:
        """The completions engine's sink: one `completion` span per call, built by the writer
        (`flush`), off the caller's path."""
        if self.enabled and call.trace.get("send_trace") is not False:
            self.record(call)

    def _completion_span(self, call: FinishedCall) -> SpanRecord:
        trace = call.trace
        content = trace.get("store_content")
        if content is None:
            content = self.settings.trace_store_content
        output = None
        if content and call.output is not None:
            output = [c.message.to_dict() for c in call.output.choices]
        error = None
        if call.error is not None:
            error = {"code": call.error.code, "message": call.error.message}
        return SpanRecord(
            id=call.span_id,
            project=call.project,
            trace_id=trace.get("trace_id") or sp.new_trace_id(),
            parent_span_id=trace.get("parent_span_id"),
            kind="completion",
            name=f"chat {call.model or call.requested_model}",
            status=call.status,
            error=error,
            started_at=call.started_at,
            ended_at=call.started_at + call.latency_ms / 1000,
            requested_model=call.requested_model,
            model=call.model,
            provider=call.provider,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            cost=call.cost,
            fallbacks=call.fallbacks_failed or None,
            tags=trace.get("tags"),
            user_id=trace.get("user_id"),
            session_id=trace.get("session_id"),
            group_id=trace.get("group_id"),
            metadata={**(trace.get("metadata") or {}), "stream": call.stream},
            input=[prompt_message(m) for m in call.messages] if content else None,
            output=output,
        )

    def start_run(self, project: str, run: Any, ext: dict[str, Any]) -> None:
        """Record the root span of a run just created (`run`: the API object; `ext`: the
        extensions it was stored with)."""
        trace = RunTrace.from_extensions(
            ext,
            self.settings,
            project=project,
            run_id=run.id,
            thread_id=run.thread_id,
            assistant_id=run.assistant_id,
            created_at=run.created_at,
            model=run.model,
        )
        if trace is not None:
            root = trace.root()
            metadata: dict[str, Any] = dict(getattr(run, "metadata", None) or {})
            prompt = ext.get("prompt")
            if prompt:  # the prompt the instructions came from (`runtime.prompts`)
                metadata.update(
                    {
                        "prompt_name": prompt["name"],
                        "prompt_version": str(prompt["version"]),
                        **({"prompt_release_label": prompt["label"]} if prompt["label"] else {}),
                    }
                )
            root = replace(root, metadata=metadata or None)
            self.record(root)
