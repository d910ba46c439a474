"""GenAITelemetry: lifecycle events become OpenTelemetry spans and metrics.

The telemetry runs as an observer hook, so under a running model it is a hook actor
reading its own bounded subscription to the model's Broadcast: the calls never wait for
a span to be built or exported. It follows the OpenTelemetry GenAI semantic conventions
(``gen_ai.*`` attributes, ``gen_ai.client.*`` metrics) and records names and numbers
only: no payload, no response text, no header, no key.
"""

from __future__ import annotations

import importlib
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import attrs

from callboard.actors import Broadcast, LifecycleEvent
from callboard.calling import (
    Calling,
    CallingAborted,
    CallingCancelled,
    CallingCompleted,
    CallingFailed,
    CallingQueued,
    CallingStarted,
    CallingTimedOut,
    ServicesError,
)
from callboard.endpoint import CallingRetrying
from callboard.errors import ConfigError
from callboard.imodel import Hook, HookActor, HookPhase, HookRegistry, StreamChunkReceived
from callboard.providers import NormalizedResponse, Usage


class _Span(Protocol):
    """The part of ``opentelemetry.trace.Span`` used here (typed without importing it:
    the API is an optional dependency)."""

    def set_attribute(self, key: str, value: Any) -> None: ...
    def set_attributes(self, attributes: Mapping[str, Any]) -> None: ...
    def add_event(
        self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None
    ) -> None: ...
    def set_status(self, status: Any, description: str | None = None) -> None: ...
    def end(self, end_time: int | None = None) -> None: ...


class _Histogram(Protocol):
    def record(self, amount: float, attributes: Mapping[str, Any] | None = None) -> None: ...


__all__ = ["GenAITelemetry", "TelemetryUnavailable"]

_SCOPE = "callboard"
_EXECUTOR_SUFFIX = ".executor"
_TERMINAL_ERRORS: dict[type[LifecycleEvent], str] = {
    CallingTimedOut: "CallingTimeoutError",
    CallingCancelled: "CallingCancelledError",
    CallingAborted: "CallingAbortedError",
}
_DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48)
_TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)


class TelemetryUnavailable(ServicesError):
    """OpenTelemetry is not installed: install ``callboard[otel]`` (and an SDK)."""


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise TelemetryUnavailable(
            "GenAITelemetry needs the OpenTelemetry API, which is not installed; install "
            "it with `pip install 'callboard[otel]'` (plus opentelemetry-sdk or a "
            "distribution to export spans and metrics)"
        ) from None


@attrs.define
class _Open:
    """One Calling's span while it runs, and what is known about it so far."""

    span: _Span
    queued: float
    model: str
    started: float | None = None
    retries: int = 0
    usage: Usage | None = None


class GenAITelemetry:
    """Turn a model's lifecycle events into GenAI spans and metrics.

    One span per Calling (kind CLIENT, named ``"{operation} {model}"``) from
    ``CallingQueued`` to its terminal event, with a ``retry`` span event per
    ``CallingRetrying``; its times are the events' times, so a lagging hook actor
    does not stretch them. Metrics: ``gen_ai.client.operation.duration`` (s),
    ``gen_ai.client.token.usage`` (``{token}``, by ``gen_ai.token.type``) and
    ``callboard.client.queue.duration`` (s, queued until admitted).

    Attributes set: ``gen_ai.operation.name``, ``gen_ai.provider.name`` and
    ``gen_ai.system``, ``gen_ai.request.model``, ``gen_ai.response.model``,
    ``gen_ai.usage.input_tokens`` / ``output_tokens``, ``error.type`` (the typed
    error's class name), ``callboard.calling.id``, ``callboard.calling.status``,
    ``callboard.retries``, ``callboard.queue.wait`` (s). Never a payload or a key.

    Register it with ``register()`` on the models' ``HookRegistry``: an AnyEvent
    observer (run as a hook actor) and a PostInvocation interceptor that only notes the
    response's usage and model (a dict write; streamed calls report usage through
    their chunk events instead). Export with a ``BatchSpanProcessor`` in production: it
    exports on its own thread, so even a slow exporter never holds up the Trio loop.

    Args:
        tracer_provider: where spans go; the global one by default.
        meter_provider: where metrics go; the global one by default.
        provider: ``gen_ai.provider.name`` when the responses do not name one.
        request_model: ``gen_ai.request.model``; the model's name by default (the
            executor name without ``.executor``).
        operation: ``gen_ai.operation.name`` (``"chat"``, ``"embeddings"``, ...).
        max_open_spans: spans kept open at once; beyond it (terminal events lost to
            lag) the oldest is ended with ``error.type = "_OTHER"``.

    Raises:
        TelemetryUnavailable: ``opentelemetry-api`` is not installed.
        ConfigError: ``max_open_spans`` is not an int >= 1.

    Example::

        telemetry = GenAITelemetry(provider="openai")
        hooks = HookRegistry()
        telemetry.register(hooks)
        model = iModel(provider="openai", model="gpt-4o", hook_registry=hooks)
    """

    def __init__(
        self,
        *,
        tracer_provider: Any = None,
        meter_provider: Any = None,
        provider: str | None = None,
        request_model: str | None = None,
        operation: str = "chat",
        max_open_spans: int = 100_000,
    ) -> None:
        if (
            isinstance(max_open_spans, bool)
            or not isinstance(max_open_spans, int)  # pyright: ignore[reportUnnecessaryIsInstance]
            or max_open_spans < 1
        ):
            raise ConfigError(
                f"max_open_spans must be an int >= 1, got {max_open_spans!r}",
                field="max_open_spans",
            )
        trace = _import("opentelemetry.trace")
        metrics = _import("opentelemetry.metrics")
        self._trace = trace
        self._tracer: Any = trace.get_tracer(_SCOPE, tracer_provider=tracer_provider)
        meter: Any = metrics.get_meter(_SCOPE, meter_provider=meter_provider)
        self._duration: _Histogram = meter.create_histogram(
            "gen_ai.client.operation.duration",
            unit="s",
            description="GenAI operation duration",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._tokens: _Histogram = meter.create_histogram(
            "gen_ai.client.token.usage",
            unit="{token}",
            description="Measures number of input and output tokens used",
            explicit_bucket_boundaries_advisory=_TOKEN_BUCKETS,
        )
        self._queue: _Histogram = meter.create_histogram(
            "callboard.client.queue.duration",
            unit="s",
            description="Time a Calling waited in its executor's queue before admission",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.provider = provider
        self.request_model = request_model
        self.operation = operation
        self.max_open_spans = max_open_spans
        self._open: OrderedDict[str, _Open] = OrderedDict()
        self._responses: OrderedDict[str, NormalizedResponse] = OrderedDict()
        self._anchor: tuple[int, float] | None = None
        self.spans_ended = 0
        """Spans ended so far (every terminal event with a span, and evictions)."""
        self.spans_evicted = 0
        """Spans ended early because more than ``max_open_spans`` were open."""

    def __repr__(self) -> str:
        return f"<GenAITelemetry open={len(self._open)} ended={self.spans_ended}>"

    @property
    def open_spans(self) -> int:
        """Callings whose span is open (queued or running)."""
        return len(self._open)

    # -- wiring ----------------------------------------------------------------------------

    def register(
        self, hooks: HookRegistry, *, name: str = "opentelemetry", buffer_size: int = 8192
    ) -> Hook:
        """Add the observer (and the usage-noting interceptor) to ``hooks``.

        Args:
            hooks: the registry the models are built with.
            name: the hook's name in events (``ObserverLagged``, ``ObserverFailed``).
            buffer_size: events the hook actor may lag behind before losing some.

        Returns:
            The observer [`Hook`][callboard.Hook] (unregister it and the interceptor to detach).
        """
        hooks.register(HookPhase.PostInvocation, self.note_response, name=f"{name}.usage")
        return hooks.register(HookPhase.AnyEvent, self.observe, name=name, buffer_size=buffer_size)

    def actor(self, broadcast: Broadcast[LifecycleEvent], *, buffer_size: int = 8192) -> HookActor:
        """A hook actor feeding this telemetry from ``broadcast`` (for a bus you run
        yourself: start it with ``await nursery.start(actor.run)``)."""
        hook = Hook(HookPhase.AnyEvent, self.observe, "opentelemetry", buffer_size=buffer_size)
        return HookActor(hook, broadcast)

    # -- handlers --------------------------------------------------------------------------

    def note_response(self, calling: Calling) -> None:
        """PostInvocation: keep the response's usage and model for the span (no text)."""
        response = calling.response
        if isinstance(response, NormalizedResponse):
            self._responses[calling.id] = response
            while len(self._responses) > self.max_open_spans:
                self._responses.popitem(last=False)

    def observe(self, event: LifecycleEvent) -> None:
        """AnyEvent observer: open, annotate or end the span the event belongs to."""
        if isinstance(event, CallingQueued):
            self._queued(event)
        elif isinstance(event, CallingStarted):
            self._started(event)
        elif isinstance(event, CallingRetrying):
            self._retrying(event)
        elif isinstance(event, StreamChunkReceived):
            if event.delta.usage is not None and (entry := self._open.get(event.calling_id)):
                entry.usage = event.delta.usage
        elif isinstance(event, CallingCompleted):
            self._end(event, None)
        elif isinstance(event, CallingFailed):
            self._end(event, event.error.partition("(")[0] or "_OTHER")
        elif isinstance(event, CallingTimedOut | CallingCancelled | CallingAborted):
            self._end(event, _TERMINAL_ERRORS[type(event)])

    # -- spans -----------------------------------------------------------------------------

    def _ns(self, when: float) -> int:
        """Trio time → epoch nanoseconds, anchored once (OpenTelemetry wants calendar time;
        callboard's events carry Trio time, which a MockClock may drive)."""
        if self._anchor is None:
            self._anchor = (int(datetime.now(UTC).timestamp() * 1e9), when)
        wall, trio_time = self._anchor
        return wall + int((when - trio_time) * 1e9)

    def _common(self, model: str) -> dict[str, str]:
        attributes = {
            "gen_ai.operation.name": self.operation,
            "gen_ai.request.model": self.request_model or model,
        }
        if self.provider is not None:
            attributes["gen_ai.provider.name"] = self.provider
            attributes["gen_ai.system"] = self.provider
        return attributes

    def _queued(self, event: CallingQueued) -> None:
        if event.calling_id in self._open:
            return
        model = event.executor.removesuffix(_EXECUTOR_SUFFIX)
        attributes: dict[str, Any] = self._common(model)
        attributes["callboard.calling.id"] = event.calling_id
        attributes["callboard.executor"] = event.executor
        span: _Span = self._tracer.start_span(
            f"{self.operation} {attributes['gen_ai.request.model']}",
            kind=self._trace.SpanKind.CLIENT,
            attributes=attributes,
            start_time=self._ns(event.time),
        )
        self._open[event.calling_id] = _Open(span, event.time, model)
        while len(self._open) > self.max_open_spans:
            _, oldest = self._open.popitem(last=False)
            self.spans_evicted += 1
            self._finish(oldest, event.time, "_OTHER", "evicted")

    def _started(self, event: CallingStarted) -> None:
        entry = self._open.get(event.calling_id)
        if entry is None or entry.started is not None:
            return
        entry.started = event.time
        wait = max(0.0, event.time - entry.queued)
        entry.span.set_attribute("callboard.queue.wait", wait)
        self._queue.record(wait, self._common(entry.model))

    def _retrying(self, event: CallingRetrying) -> None:
        entry = self._open.get(event.calling_id)
        if entry is None:
            return
        entry.retries += 1
        entry.span.add_event(
            "retry",
            {
                "callboard.attempt": event.attempt,
                "callboard.retry.delay": event.delay,
                "error.type": event.error.partition("(")[0] or "_OTHER",
            },
            timestamp=self._ns(event.time),
        )

    def _end(self, event: LifecycleEvent, error_type: str | None) -> None:
        calling_id: str = getattr(event, "calling_id", "")
        entry = self._open.pop(calling_id, None)
        response = self._responses.pop(calling_id, None)
        if entry is None:
            return
        if response is not None and response.usage is not None:
            entry.usage = response.usage
        status = type(event).__name__.removeprefix("Calling").lower()
        self._finish(entry, event.time, error_type, status, response)

    def _finish(
        self,
        entry: _Open,
        when: float,
        error_type: str | None,
        status: str,
        response: NormalizedResponse | None = None,
    ) -> None:
        attributes: dict[str, Any] = self._common(entry.model)
        if response is not None:
            if response.provider and self.provider is None:
                attributes["gen_ai.provider.name"] = response.provider
                attributes["gen_ai.system"] = response.provider
            if response.model:
                attributes["gen_ai.response.model"] = response.model
        if error_type is not None:
            attributes["error.type"] = error_type
        span = entry.span
        span.set_attributes(attributes)
        span.set_attribute("callboard.calling.status", status)
        span.set_attribute("callboard.retries", entry.retries)
        usage = entry.usage
        if usage is not None:
            span.set_attribute("gen_ai.usage.input_tokens", usage.prompt_tokens)
            span.set_attribute("gen_ai.usage.output_tokens", usage.completion_tokens)
            for kind, count in (
                ("input", usage.prompt_tokens),
                ("output", usage.completion_tokens),
            ):
                self._tokens.record(count, {**attributes, "gen_ai.token.type": kind})
        if error_type is not None:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error_type))
        self._duration.record(max(0.0, when - entry.queued), attributes)
        span.end(end_time=self._ns(when))
        self.spans_ended += 1
