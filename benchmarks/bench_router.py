"""Router: failover when a deployment's server vanishes, the headroom split, and what
routing costs per call; LiteLLM's Router on the same servers beside it.

- **failover**: three ``callboard fake-provider`` processes, each enforcing R requests a
  minute for its key; a Router over three iModels configured with R. The first
  process is killed after 5 s (its connections reset, its port refuses). Targets: 0
  failed calls; after the kill, throughput >= 95% of what the two left allow; 429s at
  most 1% of requests (the providers count them). A fourth figure keeps the second
  honest: the providers' minute buckets start full (R each), so they would take far
  more than R/60 a second for the first minute, and only the client's own admission
  holds the calls to the configured rate: the throughput after the kill must stay
  within that rate plus one second of burst.
- **failover (LiteLLM)**: the same three servers, workers and kill with LiteLLM's
  Router (its defaults, each deployment given ``rpm=R``), when ``litellm`` is
  importable (``nox -s bench`` installs it; it is never a dependency of callboard).
- **split**: two deployments at 10/s and 20/s behind the default ``headroom`` strategy:
  the faster one's share within 10% of 2/3.
- **overhead**: CPU per call of a started Router over one no-op deployment against
  that iModel alone, 41 alternating rounds of 600 calls in one process, the median of
  the rounds' paired differences: target <= 10 us. Beside it, the same over three
  deployments (the headroom strategy weighing all three on every call), no target.

    python -m benchmarks router
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import importlib.util
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import trio

from benchmarks._report import record
from callboard import CallboardError, Router, iModel

KEY = "bench-key"
RPM = 1200  # each provider's limit: 20 requests a second
LATENCY = 0.05
WORKERS = 64
SECONDS = 15.0
KILL_AT = 5.0
_STATS = re.compile(r"fake provider stopped: received=(\d+) succeeded=(\d+) rate_limited=(\d+)")


class Provider:
    """``callboard fake-provider`` in its own process."""

    def __init__(self, rpm: int) -> None:
        command = [sys.executable, "-m", "callboard.cli", "fake-provider", "--port", "0"]
        command += ["--key", KEY, "--latency", str(LATENCY), "--rpm", str(rpm)]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("fake provider listening on "):
            raise RuntimeError(f"the fake provider did not start: {line!r}")
        self.url = line.split()[4]
        self.received = self.rate_limited = 0

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            out, _ = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        found = _STATS.search(out)
        if found:
            self.received, self.rate_limited = int(found[1]), int(found[3])


@contextlib.contextmanager
def providers(*rpms: int) -> Iterator[list[Provider]]:
    started: list[Provider] = []
    try:
        for rpm in rpms:
            started.append(Provider(rpm))
        yield started
    finally:
        for provider in started:
            provider.stop()


def deployment(name: str, url: str, rpm: int) -> iModel:
    return iModel(
        provider="openai",
        base_url=f"{url}/v1",
        api_key=KEY,
        name=name,
        limit_requests=rpm,
        capacity_refresh_time=60.0,
        concurrency_limit=WORKERS,
    )


REQUEST: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "route me"}],
    "max_tokens": 8,
}


async def drive(
    router: Router, seconds: float, on_time: Any = None
) -> tuple[list[tuple[float, str]], list[str]]:
    """WORKERS callers for ``seconds``: (finish time, deployment) per completed call,
    and the failures."""
    done: list[tuple[float, str]] = []
    failed: list[str] = []
    start = trio.current_time()

    async def worker() -> None:
        while trio.current_time() - start < seconds:
            try:
                calling = await router.invoke(**REQUEST, timeout=30.0)
            except CallboardError as error:
                failed.append(repr(error)[:200])
            else:
                done.append((trio.current_time() - start, calling.deployment or "?"))

    async with router, trio.open_nursery() as nursery:
        for _ in range(WORKERS):
            nursery.start_soon(worker)
        if on_time is not None:
            await trio.sleep(KILL_AT)
            on_time()
    return done, failed


def failover() -> None:
    with providers(RPM, RPM, RPM) as (doomed, one, two):
        router = Router(
            "gpt-4o-mini",
            [
                deployment("doomed", doomed.url, RPM),
                deployment("one", one.url, RPM),
                deployment("two", two.url, RPM),
            ],
        )
        cpu = time.process_time()
        done, failed = trio.run(drive, router, SECONDS, doomed.kill)
        cpu = time.process_time() - cpu
    report("failover", [t for t, _ in done], failed, cpu, one, two)


def report(
    label: str,
    done: list[float],
    failed: list[str],
    cpu: float,
    *survivors: Provider,
    judged: bool = True,
) -> None:
    """Print and record one failover run's figures: ``done`` holds each completed
    call's finish time (seconds since the start), ``failed`` the failures, ``cpu`` the
    client's CPU seconds for the run. ``judged``: the targets are ours to meet (a
    comparison's figures are recorded without them)."""
    after = [t for t in done if t >= KILL_AT + 1.0]
    window = max(after) - (KILL_AT + 1.0) if after else 1.0
    available = len(survivors) * RPM / 60.0
    rate = len(after) / max(window, 1e-9) if after else 0.0
    share = rate / available
    bound = 1.0 + 1.0 / max(window, 1.0)  # the configured rate plus one second of burst
    requests = sum(p.received for p in survivors)
    share_429 = sum(p.rate_limited for p in survivors) / max(1, requests)
    print(
        f"{label}: {len(done)} calls, {len(failed)} failed; after the kill "
        f"{rate:.1f}/s of {available:.0f}/s available ({share:.1%}); "
        f"429s {share_429:.2%} of {requests} requests; client CPU "
        f"{cpu * 1e3 / max(1, len(done)):.2f} ms per call"
    )
    if failed:
        print(f"    first failure: {failed[0]}")
    figures = [
        (f"{label}: failed calls", len(failed), "", "0", not failed),
        (
            f"{label}: throughput after the kill, share of the limit left",
            share * 100,
            "%",
            ">= 95%",
            share >= 0.95,
        ),
        (
            f"{label}: ... and within the configured limit (plus 1 s of burst over the window)",
            share * 100,
            "%",
            f"<= {bound:.0%}",
            share <= bound,
        ),
        (
            f"{label}: 429s, share of requests (surviving providers)",
            share_429 * 100,
            "%",
            "<= 1%",
            share_429 <= 0.01,
        ),
    ]
    if not judged:  # a comparison: its figures without our targets (nor the bound)
        figures.pop(2)
    for name, value, unit, target, passed in figures:
        if judged:
            record(name, value, unit, target=target, passed=passed)
        else:
            record(name, value, unit)


def litellm_failover() -> None:
    """The failover run with LiteLLM's Router, when it is installed."""
    if importlib.util.find_spec("litellm") is None:
        print("failover (LiteLLM): litellm is not installed; row skipped (nox -s bench has it)")
        return
    # Its model cost map is read from the package, not fetched: loopback only.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm  # pyright: ignore[reportMissingImports]

    litellm.telemetry = False  # pyright: ignore[reportAttributeAccessIssue]
    litellm.suppress_debug_info = True  # pyright: ignore[reportAttributeAccessIssue]
    with providers(RPM, RPM, RPM) as (doomed, one, two):
        cpu = time.process_time()
        done, failed = asyncio.run(_litellm_drive(litellm, [doomed, one, two], doomed.kill))
        cpu = time.process_time() - cpu
    version = importlib.metadata.version("litellm")
    report(f"failover (LiteLLM {version} Router)", done, failed, cpu, one, two, judged=False)


async def _litellm_drive(
    litellm: Any, servers: list[Provider], kill: Any
) -> tuple[list[float], list[str]]:
    router = litellm.Router(
        model_list=[
            {
                "model_name": "gpt-4o-mini",
                "litellm_params": {
                    "model": "openai/gpt-4o-mini",
                    "api_base": f"{server.url}/v1",
                    "api_key": KEY,
                    "rpm": RPM,
                },
            }
            for server in servers
        ]
    )
    loop = asyncio.get_running_loop()
    start = loop.time()
    done: list[float] = []
    failed: list[str] = []

    async def worker() -> None:
        while loop.time() - start < SECONDS:
            try:
                await router.acompletion(**REQUEST, timeout=30.0)
            except Exception as error:  # every failure is counted
                failed.append(repr(error)[:200])
            else:
                done.append(loop.time() - start)

    async def killer() -> None:
        await asyncio.sleep(KILL_AT)
        kill()

    await asyncio.gather(killer(), *(worker() for _ in range(WORKERS)))
    return done, failed


def split() -> None:
    with providers(600, 1200) as (slow, fast):
        router = Router(
            "gpt-4o-mini",
            [deployment("slow", slow.url, 600), deployment("fast", fast.url, 1200)],
        )
        done, failed = trio.run(drive, router, 10.0)
    fast_share = sum(1 for _, d in done if d == "fast") / max(1, len(done))
    print(f"split: {len(done)} calls, {len(failed)} failed; fast deployment {fast_share:.1%}")
    record(
        "split: the 20/s deployment's share (2/3 is proportional)",
        fast_share * 100,
        "%",
        target="within 10% of 66.7%",
        passed=abs(fast_share - 2 / 3) <= 0.1,
    )


class Noop:
    async def execute(self, calling: Any) -> dict[str, Any]:
        await trio.lowlevel.checkpoint()
        return {"ok": True}


CALLS = 600
ROUNDS = 41


async def _cpu_per_call(target: iModel | Router) -> float:
    started = time.process_time()
    for _ in range(CALLS):
        await target.invoke(x=1)
    return (time.process_time() - started) / CALLS


async def _overhead(deployments: int) -> tuple[float, float]:
    model = iModel(backend=Noop(), name="noop")
    router = Router(
        "noop-router", [iModel(backend=Noop(), name=f"routed-{i}") for i in range(deployments)]
    )
    alone: list[float] = []
    routed: list[float] = []
    async with model, router:
        for _ in range(3):  # warm-up
            await _cpu_per_call(model)
            await _cpu_per_call(router)
        for _ in range(ROUNDS):  # alternating rounds; each round's difference is paired
            alone.append(await _cpu_per_call(model))
            routed.append(await _cpu_per_call(router))
    extra = statistics.median(r - a for a, r in zip(alone, routed, strict=True))
    return statistics.median(alone), extra


def overhead() -> None:
    for deployments in (1, 3):
        alone, extra_s = trio.run(_overhead, deployments)
        routed = alone + extra_s
        extra = extra_s * 1e6
        over = "one iModel" if deployments == 1 else "three iModels (headroom)"
        print(
            f"overhead over {over}: iModel {alone * 1e6:.1f} us/call, Router "
            f"{routed * 1e6:.1f} us/call (+{extra:.1f} us)"
        )
        record(
            f"overhead: Router CPU per call over {over}",
            extra,
            "us",
            baseline=alone * 1e6,
            baseline_name="the iModel alone",
            ratio=routed / alone,
            target="<= 10 us" if deployments == 1 else None,
            passed=extra <= 10 if deployments == 1 else None,
        )


def main() -> None:
    overhead()
    split()
    failover()
    litellm_failover()


if __name__ == "__main__":
    main()
