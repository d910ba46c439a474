"""Rate-limit efficiency: goodput against a provider enforcing 600 rpm and 60k tpm per key.

The fake provider enforces the limits the way OpenAI does (buckets that start full and
refill continuously over 60 s). Four models share the key and mirror its limits in one
request bucket and one token bucket; every response's rate-limit headers are fed back.
The run covers two minutes of the provider's clock: Trio's ``MockClock`` jumps over the
waits, so the 60 s window costs seconds of real time while the provider and the models
still read the same clock. This is the ``callboard bench`` run path (``run_bench``).

Goodput is the calls completed over what the key allows in the elapsed time (the
burst of 600 plus 10 a second). Targets: >= 97% of the limit and zero 429s. The baseline
in the same run is the same load with the client-side limits switched off: the provider
still caps what succeeds, so its goodput is about the same, paid for in 429s, retries
and failed calls.
"""

from __future__ import annotations

import time

import trio
import trio.testing

from benchmarks._report import record
from callboard.cli._bench_run import BenchConfig, run_bench
from callboard.cli._stats import BenchReport

RPM = 600
TPM = 60_000
WINDOWS = 2  # minutes of the provider's clock
SHARE_TARGET = 0.97


def _run(client_limits: bool) -> tuple[BenchReport, float]:
    config = BenchConfig(
        models=4,
        callings=RPM * (1 + WINDOWS),  # exactly what the key allows in WINDOWS minutes
        concurrency=32,
        rpm=RPM,
        tpm=TPM,
        max_tokens=80,  # ~94 tokens reserved a call: 600 a minute fit in 60k
        retries=3,
        client_limits=client_limits,
    )
    started = time.perf_counter()
    report = trio.run(
        lambda: run_bench(config, handle_sigint=False),
        clock=trio.testing.MockClock(autojump_threshold=0),
    )
    return report, time.perf_counter() - started


def main() -> None:
    limited, real_limited = _run(client_limits=True)
    unlimited, real_unlimited = _run(client_limits=False)
    print(f"rate limits: {RPM} rpm and {TPM:,} tpm per key, 4 models, 32 callers")
    print(
        f"{'client':<24}{'done':>6}{'failed':>7}{'goodput':>9}{'429s':>7}{'retries':>8}"
        f"{'clock s':>9}{'real s':>8}"
    )
    for label, report, real in (
        ("callboard admission", limited, real_limited),
        ("no client-side limits", unlimited, real_unlimited),
    ):
        share = report.requests_share
        assert share is not None
        print(
            f"{label:<24}{report.completed:>6}{report.failed:>7}{share.share:>9.1%}"
            f"{report.rate_limited_429:>7}{report.retries:>8}{report.elapsed_s:>9.1f}{real:>8.1f}"
        )
    share = limited.requests_share
    baseline = unlimited.requests_share
    assert share is not None and baseline is not None
    verdict = share.share >= SHARE_TARGET
    print(f"goodput target >= {SHARE_TARGET:.0%}: {'PASS' if verdict else 'MISS'}")
    print(f"zero 429s: {'PASS' if limited.rate_limited_429 == 0 else 'MISS'}")
    record(
        f"goodput at {RPM} rpm / {TPM // 1000}k tpm, share of the limit",
        share.share * 100,
        "%",
        baseline=baseline.share * 100,
        baseline_name="no client-side limits",
        target=f">= {SHARE_TARGET:.0%}",
        passed=verdict,
    )
    record(
        "429s received with callboard admission",
        limited.rate_limited_429,
        "",
        baseline=unlimited.rate_limited_429,
        baseline_name="no client-side limits",
        target="0",
        passed=limited.rate_limited_429 == 0,
    )


if __name__ == "__main__":
    main()
