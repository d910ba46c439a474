"""The reliability soak: many Callings through a ServiceRegistry while things break.

The models run under one :class:`~callboard.services.ServiceRegistry` against the fake
provider (a subprocess on loopback) injecting 10% faults (5xx, 529, 429, connection
resets, stalls, truncated streams) and, on top, hostile replies (1% with JSON nested
1,100 levels deep, 0.2% 429s asking for a wait of 99,999 s), while a chaos task crashes
Endpoint actors at random and callers cancel some calls part-way. The run then checks
the invariants:

- every Calling reaches exactly one terminal state and its caller wakes (zero lost,
  zero completed twice, zero hung);
- every error the callers see is a ``CallboardError``;
- no supervisor exceeds its restart intensity (no escalation);
- capacity and tokens settle exactly: nothing queued or in flight, no tokens reserved,
  and each model's token bucket is short by what its calls were charged (exactly for
  calls with reported usage; a call without usage keeps between one and ``1 + retries``
  reservations, as each retry reserves its estimate again);
- memory stays flat (RSS sampled at checkpoints; the peak is reported).

    python -m benchmarks.soak                     # 100,000 Callings (nox -s soak)
    python -m benchmarks.soak --callings 10000

``tests/soak`` runs a 10,000-call version in the normal suite.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import os
import random
import sys
import time
import tracemalloc
from collections import Counter, OrderedDict

import attrs
import trio

from benchmarks._chaos import Chaos, fake_provider_process
from callboard.actors import (
    ChildRestarted,
    Lagged,
    LifecycleEvent,
    Subscription,
    SupervisorEscalated,
)
from callboard.calling import (
    Calling,
    CallingAborted,
    CallingCancelled,
    CallingCompleted,
    CallingFailed,
    CallingQueued,
    CallingStatus,
    CallingTimedOut,
)
from callboard.endpoint import CallingRetrying
from callboard.errors import CallboardError
from callboard.imodel import iModel
from callboard.limits import AdmissionPolicy, TokenBucket
from callboard.registry import ServiceRegistry
from callboard.resilience import RetryPolicy

__all__ = ["SoakConfig", "SoakReport", "main", "run_soak"]

_TERMINAL = (CallingCompleted, CallingFailed, CallingTimedOut, CallingCancelled, CallingAborted)
_BUCKET_PERIOD = 1e12  # the token bucket barely refills: its level is an exact ledger


@attrs.frozen(kw_only=True)
class SoakConfig:
    """What one soak run does. Times are real seconds (the provider is another process)."""

    callings: int = 100_000
    models: int = 4
    concurrency: int = 96
    fault_scale: float = 1.0
    """1.0 injects 10% faults; 0 none."""
    hostile_scale: float = 1.0
    """1.0 adds 1% hostile bodies and 0.2% absurd ``retry-after`` 429s; 0 none."""
    max_pause: float = 0.5
    """The pause cap (``AdmissionPolicy.max_pause``, 60 s by default) under test: an
    absurd ``retry-after`` pauses a model this long, and the call it came with fails
    with RateLimited. Short here so the run stays short; what is checked is that the
    pause ends at the cap and nothing hangs."""
    stream_share: float = 0.3
    cancellations: int = 1000
    latency: float = 0.001
    jitter: float = 0.004
    client_timeout: float = 0.5
    """Seconds between bytes before an attempt times out (how a stall ends)."""
    retries: int = 4
    crash_interval: float = 0.25
    crash_cooldown: float = 2.5
    """Seconds between two crashes of one model: its supervisor allows 3 per 5 s."""
    hang_after: float = 60.0
    """A call not finished after this long counts as hung (and is cancelled)."""
    checkpoints: int = 10
    trace_memory: bool = False
    """Also trace allocations (slow): the report lists the lines whose memory grew most
    between the second checkpoint and the end."""
    seed: int = 1


@attrs.define
class SoakReport:
    """What happened, and :meth:`problems` for what broke an invariant."""

    config: SoakConfig
    outcomes: int = 0
    completed: int = 0
    failed: Counter[str] = attrs.field(factory=Counter[str])
    untyped: Counter[str] = attrs.field(factory=Counter[str])
    cancel_attempts: int = 0
    cancelled: int = 0
    cancel_before_accepted: int = 0
    cancel_settled_late: int = 0
    cancel_not_settled: int = 0
    hung: int = 0
    doubled: int = 0
    orphan_terminals: int = 0
    lost_events: int = 0
    events_missed: int = 0
    retries: int = 0
    crashes_planted: int = 0
    endpoint_restarts: int = 0
    escalations: int = 0
    injected: Counter[str] = attrs.field(factory=Counter[str])
    """The faults the provider says it sent, by ``Fault.label``."""
    unsettled: list[str] = attrs.field(factory=list[str])
    tokens: list[tuple[int, int, float]] = attrs.field(factory=list[tuple[int, int, float]])
    """Per model: (least and most its calls can have been charged, what its bucket is
    short by)."""
    rss: list[tuple[int, int]] = attrs.field(factory=list[tuple[int, int]])
    """(Callings finished, resident set size in bytes) at each checkpoint."""
    elapsed: float = 0.0
    memory_growth: list[str] = attrs.field(factory=list[str])
    """With ``trace_memory``: the allocation sites that grew most after warm-up."""

    @property
    def peak_rss(self) -> int:
        return max((rss for _, rss in self.rss), default=0)

    @property
    def rss_growth(self) -> int:
        """RSS growth from the second checkpoint (warmed up) to the last."""
        if len(self.rss) < 3:
            return 0
        return self.rss[-1][1] - self.rss[1][1]

    def problems(self, *, max_growth: int = 48 << 20) -> list[str]:
        """Broken invariants, in words; empty when the run was clean."""
        found: list[str] = []
        expected = self.config.callings
        if self.outcomes != expected:
            found.append(f"lost: {expected - self.outcomes} callers never got an outcome")
        if self.hung:
            found.append(f"hung: {self.hung} calls did not finish in {self.config.hang_after} s")
        if self.doubled:
            found.append(f"completed twice: {self.doubled} second terminal events")
        if self.lost_events:
            found.append(f"lost: {self.lost_events} Callings queued but never terminal")
        if self.untyped:
            found.append(f"untyped errors: {dict(self.untyped)}")
        if self.cancel_not_settled:
            found.append(f"{self.cancel_not_settled} cancelled calls never finished")
        if self.escalations:
            found.append(f"{self.escalations} supervisors exceeded their restart intensity")
        if self.events_missed:
            found.append(f"the event reader lagged by {self.events_missed} events")
        found += self.unsettled
        if self.rss_growth > max_growth:
            found.append(f"memory grew {self.rss_growth / 2**20:.1f} MiB after warm-up")
        return found

    def lines(self) -> list[str]:
        c = self.config
        rate = self.outcomes / self.elapsed if self.elapsed else 0.0
        return [
            f"soak: {self.outcomes:,} of {c.callings:,} Callings over {c.models} models in "
            f"{self.elapsed:.1f} s ({rate:,.0f}/s), faults {10 * c.fault_scale:g}%, "
            f"hostile {1.2 * c.hostile_scale:g}%",
            "  the provider injected: "
            + ", ".join(f"{label} {count:,}" for label, count in sorted(self.injected.items())),
            f"  completed {self.completed:,}  failed {sum(self.failed.values()):,} "
            f"{dict(self.failed.most_common())}",
            f"  cancelled by callers {self.cancelled:,} of {self.cancel_attempts:,} attempts "
            f"(before accepted {self.cancel_before_accepted}, streams settled after the "
            f"caller left {self.cancel_settled_late}, never settled {self.cancel_not_settled})",
            f"  retries {self.retries:,}  crashes planted {self.crashes_planted}  endpoint "
            f"restarts {self.endpoint_restarts}  escalations {self.escalations}",
            f"  lost {c.callings - self.outcomes + self.lost_events}  completed twice "
            f"{self.doubled}  hung {self.hung}  untyped {sum(self.untyped.values())}  "
            f"events missed {self.events_missed}",
            "  tokens charged (least..most) / bucket spent, per model: "
            + ", ".join(f"{low:,}..{high:,}/{spent:,.0f}" for low, high, spent in self.tokens),
            f"  RSS peak {self.peak_rss / 2**20:.1f} MiB, growth after warm-up "
            f"{self.rss_growth / 2**20:+.1f} MiB; checkpoints (calls, MiB): "
            + ", ".join(f"({n:,}, {rss / 2**20:.0f})" for n, rss in self.rss),
            *(f"  grew: {line}" for line in self.memory_growth),
        ]


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@attrs.define
class _Ledger:
    """Per model: the least and the most tokens its calls can have been charged."""

    least: int = 0
    most: int = 0

    def add(self, calling: Calling, retries: int) -> None:
        """Count what the Executor keeps for ``calling``: its usage when reported, else
        its reservations (one, plus one per retry that got as far as reserving);
        nothing when it was never admitted."""
        if calling.started_at is None:
            return
        if calling.actual_tokens is not None:
            self.least += calling.actual_tokens
            self.most += calling.actual_tokens
        else:
            self.least += calling.estimated_tokens
            self.most += calling.estimated_tokens * (1 + retries)


_SETTLE = 2.0  # seconds the last terminal events may take after their callers left


class _EventCheck:
    """Folds every model's events: one terminal event per queued Calling, restarts."""

    def __init__(self, report: SoakReport) -> None:
        self.report = report
        self.live: set[str] = set()
        self.recent: OrderedDict[str, None] = OrderedDict()
        self.subscriptions: list[Subscription[LifecycleEvent]] = []

    def observe(self, event: LifecycleEvent) -> None:
        report = self.report
        if isinstance(event, CallingQueued):
            self.live.add(event.calling_id)
        elif isinstance(event, _TERMINAL):
            calling_id: str = event.calling_id
            if calling_id in self.live:
                self.live.discard(calling_id)
                self.recent[calling_id] = None
                if len(self.recent) > 5_000:  # a second terminal event comes soon
                    self.recent.popitem(last=False)
            elif calling_id in self.recent:
                report.doubled += 1
            else:
                report.orphan_terminals += 1  # finished before it was queued
        elif isinstance(event, CallingRetrying):
            report.retries += 1
        elif isinstance(event, ChildRestarted) and event.child_id == "endpoint":
            report.endpoint_restarts += 1
        elif isinstance(event, SupervisorEscalated):
            report.escalations += 1

    def drain(self) -> None:
        """Fold every event still buffered (the readers may be behind), without waiting."""
        for subscription in self.subscriptions:
            while True:
                try:
                    self.observe(subscription.receive_nowait())
                except Lagged as lag:
                    self.report.events_missed += lag.missed
                except (trio.WouldBlock, trio.EndOfChannel):
                    break

    async def read(self, model: iModel, *, task_status: trio.TaskStatus[None]) -> None:
        # The subscription outlives this reader: drain() reads what is left after the
        # readers were stopped, then close() ends it.
        subscription = model.broadcast.subscribe(1 << 17)
        self.subscriptions.append(subscription)
        task_status.started()
        while True:
            try:
                self.observe(await subscription.receive())
            except Lagged as lag:
                self.report.events_missed += lag.missed
            except trio.EndOfChannel:
                return

    def close(self) -> None:
        for subscription in self.subscriptions:
            subscription.close()


async def _soak(config: SoakConfig, base_url: str, chaos: Chaos) -> SoakReport:
    report = SoakReport(config)
    keys = chaos.keys
    rng = random.Random(config.seed)
    cancel_at = set(rng.sample(range(config.callings), min(config.cancellations, config.callings)))
    retry = RetryPolicy(max_retries=config.retries, base_delay=0.02, max_delay=0.5)
    registry = ServiceRegistry(name="soak")
    ledger_policy = AdmissionPolicy(
        pacing="burst", token_accounting="usage", max_pause=config.max_pause
    )
    models: list[iModel] = []
    ledgers: list[_Ledger] = []
    per_model = max(1, config.concurrency // config.models)
    for index, key in enumerate(keys):
        model = iModel(
            provider="openai",
            base_url=f"{base_url}/v1",
            api_key=key,
            model="gpt-4o",
            name=f"soak{index}",
            timeout=config.client_timeout,
            retry=retry,
            transport=Chaos.TRANSPORT,
            limit_tokens=int(_BUCKET_PERIOD),
            capacity_refresh_time=_BUCKET_PERIOD,
            # A ledger, not a rate: the whole capacity at once, settled to the usage.
            admission_policy=ledger_policy,
            concurrency_limit=per_model,
            queue_capacity=per_model * 2,
            event_buffer_size=1 << 12,
        )
        registry.register(model)
        models.append(model)
        ledgers.append(_Ledger())
    check = _EventCheck(report)
    step = max(1, config.callings // max(1, config.checkpoints))
    indices = iter(range(config.callings))
    snapshots: list[tracemalloc.Snapshot] = []
    if config.trace_memory:
        tracemalloc.start(8)
    gc.collect()

    async def one(index: int) -> None:
        model = models[index % len(models)]
        stream = rng.random() < config.stream_share
        text = f"soak call {index}: say something short"
        calling = await model.create_calling(
            messages=[{"role": "user", "content": text}], max_tokens=8, streaming=stream
        )
        cancel = index in cancel_at
        with trio.move_on_after(config.hang_after) as watchdog:
            with trio.move_on_after(rng.uniform(0, 0.05) if cancel else math.inf) as caller:
                try:
                    if stream:
                        async with contextlib.aclosing(model.invoke_stream(calling)) as chunks:
                            async for _ in chunks:
                                pass
                    else:
                        await model.invoke(calling)
                    report.completed += 1
                except CallboardError as error:
                    report.failed[type(error).__name__] += 1
                except Exception as error:
                    report.untyped[type(error).__name__] += 1
            if cancel:
                report.cancel_attempts += 1
            if caller.cancelled_caught:
                report.cancelled += 1
                if calling.status is CallingStatus.PENDING:
                    report.cancel_before_accepted += 1  # cancelled while waiting for room
                elif not calling.finished:
                    # A stream's caller left: the cancel is requested and the Executor
                    # finishes the call in its own task, a moment later.
                    report.cancel_settled_late += 1
                    with trio.move_on_after(5):
                        await calling.wait_finished()
                    if not calling.finished:
                        report.cancel_not_settled += 1
        if watchdog.cancelled_caught:
            report.hung += 1
        report.outcomes += 1
        ledgers[index % len(models)].add(calling, config.retries)
        if report.outcomes % step == 0:
            gc.collect()
            report.rss.append((report.outcomes, _rss()))
            if config.trace_memory and len(report.rss) == 2:
                snapshots.append(tracemalloc.take_snapshot())

    async def worker() -> None:
        for index in indices:
            await one(index)

    started = time.perf_counter()
    readers_scope = trio.CancelScope()
    readers_done = trio.Event()

    async def read_all(*, task_status: trio.TaskStatus[None]) -> None:
        try:
            with readers_scope:
                async with trio.open_nursery() as readers:
                    for model in models:
                        await readers.start(check.read, model)
                    task_status.started()
        finally:
            readers_done.set()

    async with registry, trio.open_nursery() as nursery:
        await nursery.start(read_all)
        chaos_scope = trio.CancelScope()

        async def run_chaos() -> None:
            with chaos_scope:
                await chaos.run(config.seed)

        nursery.start_soon(run_chaos)
        async with trio.open_nursery() as workers:
            for _ in range(config.concurrency):
                workers.start_soon(worker)
        chaos_scope.cancel()
        report.elapsed = time.perf_counter() - started
        # A caller that left a stream early sees its Calling finished (cancelled) a moment
        # before the Executor's worker unwinds and publishes the terminal event: give the
        # last ones a moment (a Calling whose event never comes stays live).
        with trio.move_on_after(_SETTLE):
            while check.live:
                await trio.sleep(0.01)
        # Stop the readers before folding what they left: a reader can hold an event it
        # took from its subscription (receive's last checkpoint) while drain() takes the
        # later ones, which would fold that Calling's events out of order.
        readers_scope.cancel()
        await readers_done.wait()
        check.drain()  # fold what the readers have not read yet
        check.close()
        for model, ledger in zip(models, ledgers, strict=True):
            report.unsettled += _settled(model, ledger, report.elapsed)
            bucket = _ledger_bucket(model)
            if bucket is not None:
                spent = bucket.capacity - bucket.available
                report.tokens.append((ledger.least, ledger.most, spent))
        nursery.cancel_scope.cancel()
    if snapshots:
        gc.collect()
        growth = tracemalloc.take_snapshot().compare_to(snapshots[0], "lineno")
        report.memory_growth = [str(stat) for stat in growth[:8]]
        tracemalloc.stop()
    report.crashes_planted = chaos.fired
    report.lost_events = len(check.live)
    return report


def _ledger_bucket(model: iModel) -> TokenBucket | None:
    """The configured token bucket under the model's adaptive limiter (the ledger)."""
    adaptive = model.executor.tokens_limiter
    ceiling = adaptive.ceiling if adaptive is not None else None
    return ceiling if isinstance(ceiling, TokenBucket) else None


def _settled(model: iModel, ledger: _Ledger, elapsed: float) -> list[str]:
    """What is left over in ``model``'s executor and bucket (empty when all settled)."""
    executor = model.executor
    wrong: list[str] = []
    if (executor.queued, executor.in_flight, executor.tokens_in_flight) != (0, 0, 0):
        wrong.append(
            f"{model.name}: queued {executor.queued}, in flight {executor.in_flight}, "
            f"tokens in flight {executor.tokens_in_flight} after the run"
        )
    adaptive = executor.tokens_limiter
    if adaptive is not None and adaptive.waiting:
        wrong.append(f"{model.name}: {adaptive.waiting} waiters left on the token limiter")
    bucket = _ledger_bucket(model)
    if bucket is not None:
        if bucket.waiting:
            wrong.append(f"{model.name}: {bucket.waiting} waiters left on the token bucket")
        spent = bucket.capacity - bucket.available
        refill = bucket.rate * (elapsed + 5)  # what the bucket may have refilled since
        if not ledger.least - refill - 1 <= spent <= ledger.most + 1:
            wrong.append(
                f"{model.name}: token bucket is short by {spent:,.0f} but its calls were "
                f"charged {ledger.least:,} to {ledger.most:,}"
            )
    return wrong


def run_soak(config: SoakConfig) -> SoakReport:
    """Start the fake provider, run the soak, stop the provider; return the report."""
    keys = [f"soak-key-{n}" for n in range(config.models)]
    injected = Counter[str]()
    with fake_provider_process(
        keys,
        scale=config.fault_scale,
        hostile_scale=config.hostile_scale,
        latency=config.latency,
        jitter=config.jitter,
        seed=config.seed,
        injected=injected,
    ) as base_url:
        chaos = Chaos(keys, interval=config.crash_interval, cooldown=config.crash_cooldown)
        try:
            report = trio.run(_soak, config, base_url, chaos)
        finally:
            chaos.close()
    report.injected = injected  # counted when the provider stopped
    return report


def main(argv: list[str] | None = None) -> None:
    """Run the soak from the command line; exit 1 when an invariant broke."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak")
    parser.add_argument("--callings", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=96)
    parser.add_argument("--cancellations", type=int, default=1000)
    parser.add_argument("--fault-scale", type=float, default=1.0)
    parser.add_argument("--hostile-scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--trace-memory", action="store_true", help="trace allocations (slow)")
    args = parser.parse_args(argv)
    config = SoakConfig(
        callings=args.callings,
        models=args.models,
        concurrency=args.concurrency,
        cancellations=args.cancellations,
        fault_scale=args.fault_scale,
        hostile_scale=args.hostile_scale,
        trace_memory=args.trace_memory,
        seed=args.seed,
    )
    report = run_soak(config)
    print("\n".join(report.lines()))
    problems = report.problems()
    for problem in problems:
        print(f"FAIL {problem}")
    if problems:
        sys.exit(1)
    print("soak: every invariant held")


if __name__ == "__main__":
    main()
