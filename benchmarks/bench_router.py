"""Router: failover when a deployment's server vanishes, the headroom split, and what
routing costs per call.

- **failover**: three ``callboard fake-provider`` processes, each enforcing R requests a
  minute for its key; a Router over three iModels configured with R. The first
  process is killed after 5 s (its connections reset, its port refuses). Targets: 0
  failed calls; after the kill, throughput >= 95% of what the two left allow; 429s at
  most 1% of requests (the providers count them).
- **split**: two deployments at 10/s and 20/s behind the default ``headroom`` strategy:
  the faster one's share within 10% of 2/3.
- **overhead**: CPU per call of a started Router over one no-op deployment against
  that iModel alone, 15 alternating rounds in one process, the median of the rounds'
  paired differences: target <= 10 us.

LiteLLM's Router is not measured here (it is not installed in this session).

    python -m benchmarks router
"""

from __future__ import annotations

import contextlib
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
        done, failed = trio.run(drive, router, SECONDS, doomed.kill)
    after = [t for t, _ in done if t >= KILL_AT + 1.0]
    window = max(t for t, _ in done) - (KILL_AT + 1.0) if after else 1.0
    available = 2 * RPM / 60.0
    share = len(after) / window / available if after else 0.0
    requests = one.received + two.received
    share_429 = (one.rate_limited + two.rate_limited) / max(1, requests)
    print(
        f"failover: {len(done)} calls, {len(failed)} failed; after the kill "
        f"{len(after) / max(window, 1e-9):.1f}/s of {available:.0f}/s available "
        f"({share:.1%}); 429s {share_429:.2%} of {requests} requests"
    )
    if failed:
        print(f"    first failure: {failed[0]}")
    record("failover: failed calls", len(failed), "", target="0", passed=not failed)
    record(
        "failover: throughput after the kill, share of the limit left",
        share * 100,
        "%",
        target=">= 95%",
        passed=share >= 0.95,
    )
    record(
        "failover: 429s, share of requests (surviving providers)",
        share_429 * 100,
        "%",
        target="<= 1%",
        passed=share_429 <= 0.01,
    )


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


CALLS = 3_000


async def _cpu_per_call(target: iModel | Router) -> float:
    started = time.process_time()
    for _ in range(CALLS):
        await target.invoke(x=1)
    return (time.process_time() - started) / CALLS


async def _overhead() -> tuple[float, float]:
    model = iModel(backend=Noop(), name="noop")
    router = Router("noop-router", [iModel(backend=Noop(), name="routed")])
    alone: list[float] = []
    routed: list[float] = []
    async with model, router:
        for _ in range(2):  # warm-up
            await _cpu_per_call(model)
            await _cpu_per_call(router)
        for _ in range(15):  # alternating rounds; each round's difference is paired
            alone.append(await _cpu_per_call(model))
            routed.append(await _cpu_per_call(router))
    extra = statistics.median(r - a for a, r in zip(alone, routed, strict=True))
    return statistics.median(alone), extra


def overhead() -> None:
    alone, extra_s = trio.run(_overhead)
    routed = alone + extra_s
    extra = extra_s * 1e6
    print(
        f"overhead: iModel {alone * 1e6:.1f} us/call, Router over it {routed * 1e6:.1f} us/call "
        f"(+{extra:.1f} us)"
    )
    record(
        "overhead: Router CPU per call over one iModel",
        extra,
        "us",
        baseline=alone * 1e6,
        baseline_name="the iModel alone",
        ratio=routed / alone,
        target="<= 10 us",
        passed=extra <= 10,
    )


def main() -> None:
    overhead()
    split()
    failover()


if __name__ == "__main__":
    main()
