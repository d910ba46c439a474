"""Time formats the fake provider speaks: Go durations, RFC 3339 and HTTP dates.

The server reads time only from ``trio.current_time()``; a wall-clock ``epoch`` given at
construction anchors trio time to a calendar date, so ``Date`` headers and RFC 3339 resets
are deterministic under ``MockClock`` and agree with each other.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

__all__ = ["go_duration", "http_date", "rfc3339", "wall_clock"]


def go_duration(seconds: float) -> str:
    """Format a non-negative duration the way Go's ``time.Duration.String`` does.

    OpenAI's ``x-ratelimit-reset-*`` headers use this form (``6m0s``, ``1s``, ``12ms``,
    ``1m30.5s``). The value is rounded up to whole milliseconds so a client that waits the
    advertised time never arrives early.

    >>> go_duration(90.5), go_duration(0.012), go_duration(360), go_duration(0)
    ('1m30.5s', '12ms', '6m0s', '0s')
    """
    millis = max(0, math.ceil(seconds * 1000 - 1e-6))
    if millis == 0:
        return "0s"
    if millis < 1000:
        return f"{millis}ms"
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, frac = divmod(rest, 1000)
    secs = f"{whole}.{frac:03d}".rstrip("0").rstrip(".") if frac else str(whole)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def wall_clock(epoch: datetime, elapsed: float) -> datetime:
    """The calendar time ``elapsed`` seconds after ``epoch``."""
    return epoch + timedelta(seconds=elapsed)


def http_date(moment: datetime) -> str:
    """An RFC 9110 ``Date`` header value (whole seconds, always GMT)."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def rfc3339(moment: datetime) -> str:
    """An RFC 3339 UTC timestamp with whole seconds, as Anthropic's reset headers use."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ceil_to_second(moment: datetime) -> datetime:
    """Round up to the next whole second (a reset must never be advertised early)."""
    if moment.microsecond == 0:
        return moment
    return moment.replace(microsecond=0) + timedelta(seconds=1)
