"""One bench run: K supervised models, N Callings at concurrency C, events folded live.

The models run under one [`ServiceRegistry`][callboard.ServiceRegistry] (one
supervisor), on the embedded [`FakeProvider`][callboard.testing.FakeProvider] started in
the same Trio run or on a real provider. The bench subscribes to every model's Broadcast;
its [`Ticker`][callboard.cli._ticker.Ticker] folds the events into
[`BenchStats`][callboard.cli._stats.BenchStats], samples the counters and redraws the
display at a fixed rate, and never touches an actor. Ctrl-C (SIGINT) cancels the calls
still running and the run still returns the report of what finished.
"""

from __future__ import annotations

import contextlib
import math
import signal
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import attrs
import trio

from callboard.errors import CallboardError
from callboard.imodel import iModel
from callboard.limits import AdmissionPolicy
from callboard.providers import PRICES
from callboard.registry import ServiceRegistry
from callboard.resilience import RetryPolicy
from callboard.testing import Enforcement, FakeProvider, Fault, Latency, RouteFaults

from ._models import Target, build_models, resolve_target
from ._report import BenchReport, limit_share
from ._stats import BenchStats
from ._ticker import Ticker
from ._timeline import BenchProgress, Series, Timeline

__all__ = ["BenchConfig", "BenchResult", "run_bench"]

FAKE_KEY = "bench-key"
_EVENT_BUFFER = 1 << 16  # events a subscription holds between two ticks, at most


@attrs.frozen(kw_only=True)
class BenchConfig:
    """What to run (the ``callboard bench`` flags, validated by the parser).

    ``provider=None`` means the embedded fake provider, which then enforces ``rpm`` /
    ``tpm`` per key over ``window`` seconds and gets ``latency`` and ``fault_rate``; the
    models mirror the limits on the client side unless ``client_limits`` is false.
    ``pacing`` is the models' (``None``: full bursts against the embedded provider with
    its full-minute window, which allows them; smooth otherwise).
    """

    models: int = 4
    callings: int = 1000
    concurrency: int = 32
    rpm: int | None = None
    tpm: int | None = None
    latency: float = 0.0
    fault_rate: float = 0.0
    stream: bool = False
    max_tokens: int = 16
    retries: int = 3
    client_limits: bool = True
    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    pacing: Literal["smooth", "burst"] | None = None
    window: float = 60.0

    def admission_policy(self) -> AdmissionPolicy:
        """The models' admission policy for this run."""
        pacing = self.pacing
        if pacing is None:
            pacing = "burst" if self.provider is None and self.window >= 60 else "smooth"
        return AdmissionPolicy(pacing=pacing)


@attrs.frozen
class BenchResult:
    """A finished run: its report, and its figures over time (for ``--plot``)."""

    report: BenchReport
    series: Series


@attrs.define
class _Run:
    stats: BenchStats
    timeline: Timeline
    interrupted: bool = False
    first_error: str | None = None
    ended: float | None = None


def _payload(index: int, max_tokens: int) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": f"callboard bench call number {index}"}],
        "max_tokens": max_tokens,
    }


async def _drive(config: BenchConfig, models: list[iModel], run: _Run) -> None:
    """Run every Calling across ``config.concurrency`` worker tasks, round-robin over
    the models."""
    indices: Iterator[int] = iter(range(config.callings))

    async def worker() -> None:
        for index in indices:
            model = models[index % len(models)]
            payload = _payload(index, config.max_tokens)
            try:
                if config.stream:
                    async for _ in model.invoke_stream(**payload):
                        pass
                else:
                    await model.invoke(**payload)
            except CallboardError as error:  # counted from the events; keep the first
                if run.first_error is None:
                    run.first_error = str(error).splitlines()[0] or type(error).__name__

    async with trio.open_nursery() as nursery:
        for _ in range(min(config.concurrency, config.callings)):
            nursery.start_soon(worker)


def effective_rate(models: Sequence[iModel]) -> Callable[[], float | None]:
    """A reader of what the models' shared admission lets through now, in requests per
    second (``None``: no request limit, or not paced).

    The ticker samples it into the timeline, where ``--plot`` draws it beside the
    admitted rate and the configured limit: the rate adaptive admission learned.
    """
    if not models:
        return lambda: None
    admission = models[0].executor.admission  # the Executor every model shares

    def read() -> float | None:
        requests = admission.snapshot().requests
        return None if requests is None else _finite(requests.effective_rate)

    return read


async def _watch_interrupt(
    work: trio.CancelScope, run: _Run, *, task_status: trio.TaskStatus[None]
) -> None:
    with trio.open_signal_receiver(signal.SIGINT) as signals:
        task_status.started()
        async for _ in signals:
            if run.interrupted:
                raise KeyboardInterrupt  # a second Ctrl-C: stop waiting for shutdown
            run.interrupted = True
            work.cancel()


def _fake_provider(config: BenchConfig) -> FakeProvider:
    faults = (
        {"*": RouteFaults(rates={Fault.error(503): config.fault_rate})}
        if config.fault_rate > 0
        else None
    )
    return FakeProvider(
        keys=(FAKE_KEY,),
        rpm=config.rpm,
        tpm=config.tpm,
        enforcement=Enforcement(window=config.window),
        latency=Latency(base=config.latency),
        faults=faults,
        epoch=datetime.now(UTC),
    )


async def run_bench(
    config: BenchConfig,
    target: Target | None = None,
    *,
    display: Callable[[BenchProgress], None] | None = None,
    on_started: Callable[[], None] | None = None,
    handle_sigint: bool = True,
) -> BenchResult:
    """Run the bench and return its report (also after Ctrl-C, marked interrupted).

    Args:
        config: what to run.
        target: the resolved real provider (``resolve_target``) when
            ``config.provider`` is set; resolved here when not given.
        display: called with the counters every tick (0.1 s) while calls run, and once
            more at the end.
        on_started: called once the models run and the first calls are about to go.
        handle_sigint: catch Ctrl-C to stop the calls and still report (main thread
            only).

    Raises:
        CliError: the provider is unknown or its key is missing.
    """
    async with contextlib.AsyncExitStack() as stack:
        fake: FakeProvider | None = None
        if config.provider is None:
            fake = await stack.enter_async_context(_fake_provider(config))
            target = resolve_target(
                "openai", model=config.model, base_url=f"{fake.base_url}/v1", api_key=FAKE_KEY
            )
        elif target is None:
            target = resolve_target(config.provider, model=config.model, base_url=config.base_url)
        result = await _run_models(config, target, stack, fake, display, on_started, handle_sigint)
    return result


async def _run_models(
    config: BenchConfig,
    target: Target,
    stack: contextlib.AsyncExitStack,
    fake: FakeProvider | None,
    display: Callable[[BenchProgress], None] | None,
    on_started: Callable[[], None] | None,
    handle_sigint: bool,
) -> BenchResult:
    limits = config.client_limits or fake is None
    models = build_models(
        target,
        count=config.models,
        retry=RetryPolicy(max_retries=config.retries, base_delay=0.1, max_delay=2.0),
        limit_requests=config.rpm if limits else None,
        limit_tokens=config.tpm if limits else None,
        queue_capacity=max(100, config.concurrency),
        max_connections=config.concurrency,
        admission_policy=config.admission_policy(),
    )
    registry = ServiceRegistry(name="bench")
    for model in models:
        registry.register(model)
    subscriptions = [
        stack.enter_context(model.broadcast.subscribe(buffer_size=_EVENT_BUFFER))
        for model in models
    ]
    async with registry, trio.open_nursery() as nursery:
        start = trio.current_time()
        run = _Run(BenchStats(start), Timeline(start))
        ticker = Ticker(
            subscriptions,
            run.stats,
            run.timeline,
            display=display,
            effective_rate=effective_rate(models),
        )
        work = trio.CancelScope()
        if handle_sigint:
            await nursery.start(_watch_interrupt, work, run)
        nursery.start_soon(ticker.run)
        if on_started is not None:
            on_started()
        with work:
            await _drive(config, models, run)
        run.ended = trio.current_time()
        nursery.cancel_scope.cancel()
    ticker.finish(run.ended)  # what the models published while they stopped, too
    limit = None if config.rpm is None else config.rpm / 60
    return BenchResult(
        _report(config, target, run, fake, admission_summary(models[0])),
        run.timeline.series(run.stats, limit_per_s=limit),
    )


def admission_summary(model: iModel) -> dict[str, Any]:
    """What the (shared) admission of the models learned, JSON-safe: per limit the
    configured and effective rate (per second), burst and cuts; the 429s and pauses."""
    snapshot = model.executor.admission.snapshot()
    limits: dict[str, Any] = {}
    for name, limit in (("requests", snapshot.requests), ("tokens", snapshot.tokens)):
        if limit is None:
            continue
        limits[name] = {
            "pacing": limit.pacing,
            "configured_rate": _finite(limit.configured_rate),
            "effective_rate": _finite(limit.effective_rate),
            "effective_burst": _finite(limit.effective_burst),
            "ceiling_rate": _finite(limit.ceiling_rate),
            "cuts": limit.cuts,
            "recovering": limit.recovering,
        }
    return {
        **limits,
        "refusals": snapshot.refusals,
        "paused": snapshot.paused_until is not None,
        "max_pause": snapshot.max_pause,
        "last_headers": snapshot.last_headers is not None,
    }


def _finite(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, 4)


def _report(
    config: BenchConfig,
    target: Target,
    run: _Run,
    fake: FakeProvider | None,
    admission: dict[str, Any] | None = None,
) -> BenchReport:
    stats = run.stats
    ended = run.ended if run.ended is not None else trio.current_time()
    elapsed = max(ended - stats.start, 1e-9)
    latency, wait = stats.quantiles()
    server = None
    if fake is not None:
        s = fake.stats
        server = {
            "received": s.received,
            "succeeded": s.succeeded,
            "rate_limited": s.rate_limited,
            "faulted": s.faulted,
            "peak_concurrent": s.peak_concurrent,
            "tokens_charged": s.tokens_charged,
            "tokens_refunded": s.tokens_refunded,
        }
    return BenchReport(
        provider="fake" if fake is not None else target.spec.name,
        model=target.model,
        models=config.models,
        concurrency=config.concurrency,
        stream=config.stream,
        requested=config.callings,
        completed=stats.done,
        failed=stats.failed,
        cancelled=stats.cancelled,
        interrupted=run.interrupted,
        elapsed_s=round(elapsed, 4),
        throughput_per_s=round(stats.done / elapsed, 2),
        latency_ms=latency,
        queue_wait_ms=wait,
        first_chunk_ms=stats.first_chunk_quantiles() if config.stream else None,
        rate_limited_429=stats.rate_limited,
        retries=stats.retries,
        tokens_used=stats.tokens,
        requests_share=limit_share(config.rpm, stats.done, elapsed),
        tokens_share=limit_share(config.tpm, stats.tokens, elapsed),
        events_missed=stats.events_missed,
        first_error=stats.errors.first_cause or run.first_error,
        failed_by=dict(stats.errors.failed.most_common()),
        retried_after=dict(stats.errors.retried.most_common()),
        circuits_opened=list(stats.errors.circuits),
        cost_usd=round(stats.cost_usd, 6) if stats.priced else None,
        unpriced=stats.unpriced,
        prices_as_of=None if PRICES.as_of is None else PRICES.as_of.isoformat(),
        server=server,
        admission=admission,
    )
