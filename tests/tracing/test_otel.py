"""GenAITelemetry: lifecycle events → GenAI spans and metrics, read back from the SDK's
in-memory span exporter and metric reader; calls over the loopback fake provider."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import trio

from callboard.calling import CallingQueued
from callboard.errors import CallboardError, ConfigError
from callboard.imodel import HookRegistry, iModel
from callboard.resilience import RetryPolicy
from callboard.testing import FakeProvider, Fault
from callboard.tracing import GenAITelemetry, TelemetryUnavailable
from tests.model_backends import EchoBackend, FailingBackend

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode

SECRET_KEY = "sk-otel-never-exported-0123456789"
PROMPT = "a confidential prompt about the merger"
CHAT = {"messages": [{"role": "user", "content": PROMPT}], "max_tokens": 8}


@attrs.define
class Otel:
    telemetry: GenAITelemetry
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    hooks: HookRegistry

    def finished(self) -> tuple[ReadableSpan, ...]:
        return self.spans.get_finished_spans()

    def points(self, name: str) -> list[Any]:
        data = self.metrics.get_metrics_data()
        assert data is not None
        return [
            point
            for resource in data.resource_metrics
            for scope in resource.scope_metrics
            for metric in scope.metrics
            if metric.name == name
            for point in metric.data.data_points
        ]


@pytest.fixture
def otel() -> Iterator[Otel]:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    telemetry = GenAITelemetry(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        request_model="gpt-4o",
    )
    hooks = HookRegistry()
    telemetry.register(hooks)
    yield Otel(telemetry, spans, reader, hooks)
    tracer_provider.shutdown()
    meter_provider.shutdown()


def _model(server: FakeProvider, hooks: HookRegistry, **options: Any) -> iModel:
    return iModel(
        provider="openai",
        base_url=f"{server.base_url}/v1",
        api_key=SECRET_KEY,
        model="gpt-4o",
        timeout=None,
        retry=RetryPolicy(max_retries=2, base_delay=0.5, jitter="none"),
        hook_registry=hooks,
        name="writer",
        **options,
    )


def _no_payload_or_secret(span: ReadableSpan) -> None:
    values = [str(v) for v in (span.attributes or {}).values()]
    values += [str(v) for event in span.events for v in (event.attributes or {}).values()]
    assert not any(SECRET_KEY in v or "merger" in v for v in values)


async def test_completed_call_is_one_client_span_with_usage_and_metrics(otel: Otel) -> None:
    async with FakeProvider(keys=(SECRET_KEY,)) as server:
        model = _model(server, otel.hooks)
        async with model:
            calling = await model.invoke(**CHAT)
    (span,) = otel.finished()
    attributes = dict(span.attributes or {})
    assert span.name == "chat gpt-4o"
    assert span.kind is SpanKind.CLIENT
    assert span.status.status_code is StatusCode.UNSET
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "gpt-4o"
    assert attributes["gen_ai.provider.name"] == attributes["gen_ai.system"] == "openai"
    assert attributes["gen_ai.response.model"] == calling.response.model
    usage = calling.response.usage
    assert attributes["gen_ai.usage.input_tokens"] == usage.prompt_tokens > 0
    assert attributes["gen_ai.usage.output_tokens"] == usage.completion_tokens > 0
    assert attributes["callboard.calling.id"] == calling.id
    assert attributes["callboard.calling.status"] == "completed"
    assert attributes["callboard.retries"] == 0
    assert attributes["callboard.queue.wait"] >= 0
    assert "error.type" not in attributes
    assert span.start_time is not None and span.end_time is not None
    assert span.end_time >= span.start_time
    _no_payload_or_secret(span)

    (duration,) = otel.points("gen_ai.client.operation.duration")
    assert duration.count == 1
    assert duration.attributes["gen_ai.request.model"] == "gpt-4o"
    tokens = {
        p.attributes["gen_ai.token.type"]: p.sum for p in otel.points("gen_ai.client.token.usage")
    }
    assert tokens == {"input": usage.prompt_tokens, "output": usage.completion_tokens}
    (queue,) = otel.points("callboard.client.queue.duration")
    assert queue.count == 1
    assert otel.telemetry.open_spans == 0


async def test_a_streamed_call_reports_usage_from_its_final_chunk(otel: Otel) -> None:
    async with FakeProvider(keys=(SECRET_KEY,)) as server:
        model = _model(server, otel.hooks)
        async with model:
            chunks = [chunk async for chunk in model.invoke_stream(**CHAT)]
    assert chunks
    (span,) = otel.finished()
    attributes = dict(span.attributes or {})
    assert attributes["callboard.calling.status"] == "completed"
    assert attributes["gen_ai.usage.input_tokens"] > 0
    assert attributes["gen_ai.usage.output_tokens"] > 0
    tokens = {p.attributes["gen_ai.token.type"] for p in otel.points("gen_ai.client.token.usage")}
    assert tokens == {"input", "output"}
    _no_payload_or_secret(span)


async def test_retries_are_span_events_and_counted(otel: Otel, autojump_clock: Any) -> None:
    async with FakeProvider(keys=(SECRET_KEY,)) as server:
        server.script("/v1/chat/completions", [Fault.error(503), Fault.error(529), None])
        model = _model(server, otel.hooks)
        async with model:
            await model.invoke(**CHAT)
    (span,) = otel.finished()
    assert [event.name for event in span.events] == ["retry", "retry"]
    first = dict(span.events[0].attributes or {})
    assert first["callboard.attempt"] == 1
    assert first["callboard.retry.delay"] == 0.5
    assert first["error.type"] == "ServerError"
    assert dict(span.events[1].attributes or {})["error.type"] == "Overloaded"  # the 529
    assert dict(span.attributes or {})["callboard.retries"] == 2
    assert span.status.status_code is StatusCode.UNSET
    # The span covers both retry waits: start to end spans the backoff (0.5 s + 1 s).
    assert span.end_time is not None and span.start_time is not None
    assert span.end_time - span.start_time >= 1.5e9
    _no_payload_or_secret(span)


async def test_a_failed_call_sets_error_type_on_span_and_duration(otel: Otel) -> None:
    async with FakeProvider(keys=(SECRET_KEY,)) as server:
        server.script("/v1/chat/completions", [Fault.error(400, should_retry=False)])
        model = _model(server, otel.hooks)
        async with model:
            with pytest.raises(CallboardError) as raised:
                await model.invoke(**CHAT)
    (span,) = otel.finished()
    attributes = dict(span.attributes or {})
    assert attributes["error.type"] == type(raised.value).__name__
    assert attributes["callboard.calling.status"] == "failed"
    assert span.status.status_code is StatusCode.ERROR
    (duration,) = otel.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == type(raised.value).__name__
    assert otel.points("gen_ai.client.token.usage") == []
    _no_payload_or_secret(span)


async def test_untyped_backend_error_and_cancellation_are_named_by_type(otel: Otel) -> None:
    failing = iModel(backend=FailingBackend(secret=SECRET_KEY), hook_registry=otel.hooks)
    slow = iModel(backend=EchoBackend(delay=60), hook_registry=otel.hooks, name="slow")
    async with failing, slow:
        with pytest.raises(CallboardError):
            await failing.invoke(prompt=PROMPT)
        with trio.move_on_after(0.05):
            await slow.invoke(prompt=PROMPT)
    by_status = {dict(s.attributes or {})["callboard.calling.status"]: s for s in otel.finished()}
    assert set(by_status) == {"failed", "cancelled"}
    failed = dict(by_status["failed"].attributes or {})
    assert failed["error.type"] == "InvocationError"
    cancelled = dict(by_status["cancelled"].attributes or {})
    assert cancelled["error.type"] == "CallingCancelledError"
    assert cancelled["gen_ai.request.model"] == "gpt-4o"
    for span in by_status.values():
        _no_payload_or_secret(span)


async def test_inline_model_reports_the_same_span(otel: Otel) -> None:
    model = iModel(backend=EchoBackend(), hook_registry=otel.hooks)
    await model.invoke(prompt="x")  # never started: observers run in the caller's task
    (span,) = otel.finished()
    assert dict(span.attributes or {})["callboard.calling.status"] == "completed"


class _BlockedExporter(SpanExporter):
    """An exporter that blocks its (BatchSpanProcessor) thread until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.exported: list[ReadableSpan] = []

    def export(self, spans: Any) -> SpanExportResult:
        self.release.wait(timeout=30)
        self.exported.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self.release.set()


async def test_a_blocked_exporter_does_not_hold_up_calls() -> None:
    exporter = _BlockedExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=1))
    telemetry = GenAITelemetry(tracer_provider=provider, meter_provider=None)
    hooks = HookRegistry()
    telemetry.register(hooks)
    try:
        model = iModel(backend=EchoBackend(delay=0.001), hook_registry=hooks)
        with trio.fail_after(10):  # exporting holds its thread until released below
            async with model, trio.open_nursery() as nursery:
                for i in range(200):
                    nursery.start_soon(lambda i=i: model.invoke(n=i))
        assert telemetry.spans_ended == 200
        assert len(exporter.exported) < 200  # the exporter is still stuck
        exporter.release.set()
        assert await trio.to_thread.run_sync(provider.force_flush)
        assert len(exporter.exported) == 200
    finally:
        exporter.release.set()
        provider.shutdown()


async def test_spans_beyond_max_open_are_ended_as_evicted() -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    telemetry = GenAITelemetry(tracer_provider=provider, max_open_spans=2)
    for n in range(3):
        telemetry.observe(CallingQueued(executor="m.executor", calling_id=f"c{n}", queued=1))
    (evicted,) = spans.get_finished_spans()
    assert dict(evicted.attributes or {})["callboard.calling.id"] == "c0"
    assert dict(evicted.attributes or {})["error.type"] == "_OTHER"
    assert (telemetry.open_spans, telemetry.spans_evicted) == (2, 1)
    provider.shutdown()


def test_bad_max_open_spans_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as raised:
        GenAITelemetry(max_open_spans=0)
    assert raised.value.field == "max_open_spans"


def test_missing_opentelemetry_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.trace", None)
    with pytest.raises(TelemetryUnavailable, match=r"callboard\[otel\]"):
        GenAITelemetry()
