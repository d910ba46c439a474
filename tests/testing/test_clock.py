"""Go durations and RFC 3339 instants, as the rate-limit headers spell them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from callboard.testing._clock import ceil_to_second, go_duration, http_date, rfc3339

_GO = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$")


def _parse_go(text: str) -> float:
    if text.endswith("ms"):
        return int(text[:-2]) / 1000
    match = _GO.match(text)
    assert match is not None, text
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds or 0)


def test_go_duration_examples() -> None:
    assert go_duration(360) == "6m0s"
    assert go_duration(1) == "1s"
    assert go_duration(0.012) == "12ms"
    assert go_duration(90.5) == "1m30.5s"
    assert go_duration(3600) == "1h0m0s"
    assert go_duration(0) == "0s"
    assert go_duration(0.0001) == "1ms"  # rounded up: never advertise too short a wait


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, max_value=10 * 86400, allow_nan=False))
def test_go_duration_round_trips_within_a_millisecond(seconds: float) -> None:
    parsed = _parse_go(go_duration(seconds))
    assert seconds - 1e-6 <= parsed < seconds + 0.001 + 1e-6


def test_rfc3339_and_http_date_share_one_clock() -> None:
    moment = datetime(2025, 1, 1, 0, 0, 5, 250_000, tzinfo=UTC)
    assert http_date(moment) == "Wed, 01 Jan 2025 00:00:05 GMT"
    assert rfc3339(ceil_to_second(moment)) == "2025-01-01T00:00:06Z"
    assert rfc3339(ceil_to_second(moment.replace(microsecond=0))) == "2025-01-01T00:00:05Z"
