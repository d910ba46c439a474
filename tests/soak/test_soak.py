"""The reliability soak in the normal suite: 10,000 Callings through a ServiceRegistry of
four models against the fake provider (a subprocess on loopback) injecting 10% faults and
1.2% hostile replies (deep-nested JSON, a 99,999 s retry-after), while Endpoint actors
crash at random and 1,000 callers cancel part-way.

``nox -s soak`` runs the full 100,000-call version (``python -m benchmarks.soak``).
"""

from __future__ import annotations

from collections import Counter

import pytest
from benchmarks.soak import SoakConfig, SoakReport, run_soak

from callboard.endpoint import known_transports

# Alone it takes about a minute; on a machine loaded many times over, several.
pytestmark = pytest.mark.timeout(600)


def test_ten_thousand_callings_under_faults_crashes_and_cancellations() -> None:
    config = SoakConfig(callings=10_000, cancellations=1_000, seed=7)
    report = run_soak(config)
    print("\n".join(report.lines()))
    assert report.problems() == []
    # The adversaries really acted: without these the invariants above prove little.
    assert report.outcomes == 10_000
    assert report.retries > 300  # ~10% faults, most of them retried
    assert report.crashes_planted >= 5
    # Each planted crash restarts its Endpoint (one planted at the very end may still be
    # restarting when the calls are done).
    assert report.crashes_planted - 1 <= report.endpoint_restarts <= report.crashes_planted
    assert report.cancelled >= 500
    assert sum(report.failed.values()) > 0  # some faults outlast the retries, typed
    # Hostile replies came and each ended as its own call's typed error: a body nested
    # past any parser's stack as InvalidResponse (never an Endpoint crash: restarts
    # match the planted crashes above), a 99,999 s retry-after as RateLimited at once.
    assert report.injected["hostile_body"] >= 20
    assert report.failed["InvalidResponse"] >= report.injected["hostile_body"] // 2
    assert report.injected["rate_limited 99999s"] >= 5
    assert report.failed["RateLimited"] >= report.injected["rate_limited 99999s"] // 2
    assert len(report.tokens) == config.models
    # Each bucket refills one token a second (a ledger, not a rate): a slow run on a
    # loaded machine gets that much back.
    refilled = report.elapsed + 5
    assert all(0 < least <= spent + refilled for least, _, spent in report.tokens)


def test_the_report_names_every_broken_invariant() -> None:
    clean = SoakReport(SoakConfig(callings=3), outcomes=3)
    clean.rss = [(1, 100 << 20), (2, 100 << 20), (3, 101 << 20)]
    assert clean.problems() == []
    broken = SoakReport(
        SoakConfig(callings=3),
        outcomes=2,
        hung=1,
        doubled=1,
        lost_events=1,
        untyped=Counter({"KeyError": 1}),
        cancel_not_settled=1,
        escalations=1,
        events_missed=4,
        unsettled=["m: queued 1, in flight 0, tokens in flight 0 after the run"],
    )
    broken.rss = [(1, 100 << 20), (2, 100 << 20), (3, 200 << 20)]
    problems = "\n".join(broken.problems())
    for words in (
        "never got an outcome",
        "hung",
        "completed twice",
        "never terminal",
        "KeyError",
        "never finished",
        "restart intensity",
        "lagged",
        "queued 1",
        "memory grew",
    ):
        assert words in problems


def test_a_soak_leaves_no_transport_registered() -> None:
    before = known_transports()
    report = run_soak(SoakConfig(callings=200, cancellations=20, crash_interval=0.05))
    assert report.problems() == []
    assert known_transports() == before
