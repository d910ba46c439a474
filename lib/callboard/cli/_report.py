"""The figures a bench run ends with: the report ``--json`` prints and the table shows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs

from ._error_tally import CircuitOpened

__all__ = ["BenchReport", "LimitShare", "limit_share", "percentile", "quantiles_ms"]


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The ``fraction`` quantile of ``values`` by linear interpolation (``None`` if empty).

    Example:
        >>> percentile([1.0, 2.0, 3.0, 4.0], 0.5)
        2.5
    """
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def quantiles_ms(values: Sequence[float], fractions: Sequence[float]) -> dict[str, float | None]:
    """``{"p50": ..., "p99": ...}`` of ``values`` (seconds), in milliseconds."""
    result: dict[str, float | None] = {}
    for fraction in fractions:
        value = percentile(values, fraction)
        result[f"p{round(fraction * 100)}"] = None if value is None else round(value * 1000, 3)
    return result


@attrs.frozen
class LimitShare:
    """How much of a configured limit a run used.

    The provider's buckets start full and refill continuously, so over ``seconds`` a key
    can be granted at most ``limit`` (the burst) plus ``limit * seconds / 60``; ``share``
    is what the run used of that.
    """

    limit_per_minute: int
    used: int
    allowed: float
    share: float


def limit_share(limit_per_minute: int | None, used: int, seconds: float) -> LimitShare | None:
    """What share of ``limit_per_minute`` (burst plus refill) ``used`` is over ``seconds``."""
    if limit_per_minute is None:
        return None
    allowed = limit_per_minute * (1 + seconds / 60)
    return LimitShare(limit_per_minute, used, round(allowed, 1), round(used / allowed, 4))


@attrs.frozen
class BenchReport:
    """The final figures of a bench run (``to_dict`` is what ``--json`` prints)."""

    provider: str
    model: str
    models: int
    concurrency: int
    stream: bool
    requested: int
    completed: int
    failed: int
    cancelled: int
    interrupted: bool
    elapsed_s: float
    throughput_per_s: float
    latency_ms: dict[str, float | None]
    queue_wait_ms: dict[str, float | None]
    first_chunk_ms: dict[str, float | None] | None
    rate_limited_429: int
    retries: int
    tokens_used: int
    requests_share: LimitShare | None
    tokens_share: LimitShare | None
    events_missed: int
    failed_by: dict[str, int]
    """Error kind -> calls that finally failed with it."""
    retried_after: dict[str, int]
    """Error kind -> attempts that failed with it and were retried."""
    circuits_opened: list[CircuitOpened]
    """Each time an Endpoint's circuit opened, and the error before it."""
    first_error: str | None = None
    """The first error (``"Kind: message"``) that was not an open circuit's refusal."""
    cost_usd: float | None = None
    """What the completed calls cost at list price (``None``: none was priced)."""
    unpriced: int = 0
    """Completed calls without a price (a model ``callboard.PRICES`` does not know)."""
    prices_as_of: str | None = None
    server: dict[str, int] | None = None
    """The embedded fake provider's own counters (``None`` against a real provider)."""
    admission: dict[str, Any] | None = None
    """What the models' admission learned: configured and effective rates (per
    second), bursts, cuts, 429s (see ``run_bench``'s ``admission_summary``)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe figures, times in milliseconds, shares as fractions."""
        return attrs.asdict(self)
