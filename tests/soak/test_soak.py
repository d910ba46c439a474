"""The reliability soak in the normal suite: 10,000 Callings through a ServiceRegistry of
four models against the fake provider (a subprocess on loopback) injecting 10% faults,
while Endpoint actors crash at random and 1,000 callers cancel part-way.

``nox -s soak`` runs the full 100,000-call version (``python -m benchmarks.soak``).
"""

from __future__ import annotations

import pytest
from benchmarks.soak import SoakConfig, run_soak

pytestmark = pytest.mark.timeout(240)


def test_ten_thousand_callings_under_faults_crashes_and_cancellations() -> None:
    config = SoakConfig(callings=10_000, cancellations=1_000, seed=7)
    report = run_soak(config)
    print("\n".join(report.lines()))
    assert report.problems() == []
    # The adversaries really acted: without these the invariants above prove little.
    assert report.outcomes == 10_000
    assert report.retries > 300  # ~10% faults, most of them retried
    assert report.crashes_planted >= 5
    assert report.endpoint_restarts == report.crashes_planted
    assert report.cancelled >= 500
    assert sum(report.failed.values()) > 0  # some faults outlast the retries, typed
    assert len(report.tokens) == config.models
    assert all(charged > 0 for charged, _ in report.tokens)
