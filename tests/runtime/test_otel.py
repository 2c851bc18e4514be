"""OpenTelemetry export: the same spans, GenAI attributes, ids mapped one to one; through the
SDK's in-memory exporter and over OTLP/HTTP to a real receiver on loopback."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from assistants import AsyncClient
from runtime.otel import OtelExporter
from store.types import Run
from tests.helpers import tool_round_trip

pytestmark = pytest.mark.timeout(60)


async def _tool_round_trip(client: AsyncClient) -> Run:
    return await tool_round_trip(client, "rain", prompt="Weather?", tags=["otel"], session_id="s_1")


async def test_in_memory__a_run_exports_as_a_genai_tree(anyio_backend: str) -> None:
    """A run's root, model and tool spans export with GenAI attributes and our ids' hex."""
    memory = InMemorySpanExporter()
    exporter = OtelExporter(memory)
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:",
        poll_seconds=0.05,
        prices={"test": {"prompt": 1, "completion": 1}},
    ) as client:
        (await client._ctx.tracer()).exporters.append(exporter)
        run = await _tool_round_trip(client)
        await (await client._ctx.tracer()).flush()
        assert exporter.force_flush()
        spans = {s.name: s for s in memory.get_finished_spans()}
    trace_hex = (run.trace_id or "")[3:]
    root = spans[f"invoke_agent {run.assistant_id}"]
    assert root.context is not None
    assert f"{root.context.trace_id:032x}" == trace_hex
    assert f"{root.context.span_id:016x}" == (run.span_id or "")[3:]
    assert root.attributes is not None
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.conversation.id"] == run.thread_id
    assert root.attributes["session.id"] == "s_1"
    assert root.end_time is not None
    assert root.start_time is not None
    assert root.end_time >= root.start_time
    models = [s for s in memory.get_finished_spans() if s.name == "chat test"]
    assert len(models) == 2
    for span in models:
        assert span.parent is not None
        assert span.parent.span_id == root.context.span_id
        assert span.attributes is not None
        assert span.attributes["gen_ai.operation.name"] == "chat"
        assert span.attributes["gen_ai.request.model"] == "test"
        assert span.attributes["gen_ai.response.model"] == "test"
        assert span.attributes["gen_ai.provider.name"] == "test"
        assert isinstance(span.attributes["gen_ai.usage.input_tokens"], int)
        assert span.attributes["gen_ai.usage.input_tokens"] > 0
        assert isinstance(span.attributes["gen_ai.usage.output_tokens"], int)
        assert span.attributes["gen_ai.usage.output_tokens"] > 0
        assert span.attributes["assistants.tags"] == ["otel"]
    tool = spans["execute_tool get_weather"]
    assert tool.attributes is not None
    assert tool.attributes["gen_ai.tool.name"] == "get_weather"
    assert str(tool.attributes["gen_ai.tool.call.id"]).startswith("call_")
    assert exporter.failures == 0


class _Receiver:
    """An OTLP/HTTP trace receiver on loopback: decodes each protobuf request it is sent."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        received = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                received.append(request)
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    found = _Receiver()
    try:
        yield found
    finally:
        found.close()


async def test_otlp_http__a_real_receiver_gets_the_spans(
    anyio_backend: str, receiver: _Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `otel_export`, the standard OTLP variables point the export at a receiver, which
    decodes the run's spans with our trace id and GenAI attributes."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.url)
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:", poll_seconds=0.05, otel_export=True
    ) as client:
        run = await _tool_round_trip(client)
    spans = [
        span
        for request in receiver.requests
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert {s.trace_id.hex() for s in spans} == {(run.trace_id or "")[3:]}
    names = sorted(s.name for s in spans)
    assert names == sorted(
        ["chat test", "chat test", "execute_tool get_weather", f"invoke_agent {run.assistant_id}"]
    )
    model = next(s for s in spans if s.name == "chat test")
    attrs = {a.key: a.value for a in model.attributes}
    assert attrs["gen_ai.operation.name"].string_value == "chat"
    assert attrs["gen_ai.request.model"].string_value == "test"
    assert attrs["gen_ai.usage.input_tokens"].int_value > 0
    root = next(s for s in spans if s.name.startswith("invoke_agent"))
    assert model.parent_span_id == root.span_id
    assert root.span_id.hex() == (run.span_id or "")[3:]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_otlp_http__backend_down__runs_unaffected_failures_counted(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OTLP endpoint that refuses connections changes nothing for runs; the lost batches
    are counted (and warned about)."""
    monkeypatch.setenv(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", f"http://127.0.0.1:{_closed_port()}/v1/traces"
    )
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0.5")
    async with AsyncClient(
        database_url="sqlite+aiosqlite:///:memory:", poll_seconds=0.05, otel_export=True
    ) as client:
        tracer = await client._ctx.tracer()
        (exporter,) = tracer.exporters
        assert isinstance(exporter, OtelExporter)
        run = await _tool_round_trip(client)
        assert run.status == "completed"
        assert len((await client.spans.list(run_id=run.id)).data) == 4
    assert exporter.failures >= 1
    assert exporter.exported == 0
