"""How a benchmark module reports its figures, beside what it prints.

Each ``bench_*.py`` keeps printing its own readable table and also calls :func:`record`
once per figure. ``python -m benchmarks`` collects the figures of every module it runs
and writes them, with the machine and the versions, to ``docs/benchmarks.md``.

A figure is a measurement, optionally its baseline from the same run, the ratio between
them, and a target. Missing a target is reported (``MISS``); it never fails the run.

    from benchmarks._report import record

    record("ask round trip", ask_us, "µs", baseline=raw_us, baseline_name="raw ping-pong",
           ratio=ask_us / raw_us, target="<= 1.5x", passed=ask_us / raw_us <= 1.5)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Figure", "collected", "record", "reset"]


@dataclass(frozen=True)
class Figure:
    """One reported figure.

    Attributes:
        bench: the module's short name (``"actors"``), filled in by the runner.
        name: what was measured.
        value: the measurement.
        unit: its unit (``"calls/s"``, ``"µs"``, ``"bytes"``, ``"%"``, ``"x"``).
        baseline: the same-run baseline it is compared with, in the same unit.
        baseline_name: what the baseline is.
        ratio: ``value / baseline`` when both are given (so a rate below its
            baseline and a cost above it both read as "how far from the baseline"),
            or the figure a target applies to.
        target: the target as text (``">= 0.90x"``), ``None`` when there is none.
        passed: whether the target was met (``None`` without a target).
    """

    bench: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None
    ratio: float | None = None
    target: str | None = None
    passed: bool | None = None

    @property
    def verdict(self) -> str:
        """``PASS``, ``MISS`` or ``""`` (no target)."""
        if self.passed is None:
            return ""
        return "PASS" if self.passed else "MISS"


_figures: list[Figure] = []
_bench = ""


def reset(bench: str) -> None:
    """Start collecting for module ``bench`` (the runner calls this)."""
    global _bench
    _bench = bench
    _figures.clear()


def record(
    name: str,
    value: float,
    unit: str,
    *,
    baseline: float | None = None,
    baseline_name: str | None = None,
    ratio: float | None = None,
    target: str | None = None,
    passed: bool | None = None,
) -> Figure:
    """Report one figure of the running benchmark and return it."""
    figure = Figure(
        bench=_bench,
        name=name,
        value=value,
        unit=unit,
        baseline=baseline,
        baseline_name=baseline_name,
        ratio=ratio,
        target=target,
        passed=passed,
    )
    _figures.append(figure)
    return figure


def collected() -> list[Figure]:
    """The figures reported since the last :func:`reset`."""
    return list(_figures)
