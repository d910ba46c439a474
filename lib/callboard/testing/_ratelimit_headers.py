"""Rate-limit and retry headers, in each provider's spelling."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from ._clock import ceil_to_second, go_duration, rfc3339
from ._ratelimit import BucketView
from ._wire import Family

__all__ = ["rate_limit_headers", "retry_headers"]


def rate_limit_headers(
    family: Family, requests: BucketView | None, tokens: BucketView | None, now: datetime
) -> list[tuple[str, str]]:
    """The limit/remaining/reset headers of a key's buckets (unlimited ones are omitted).

    OpenAI: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``, resets as Go
    durations. Anthropic: ``anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}``,
    resets as RFC 3339 instants rounded up to the second, on the same clock as ``Date``.
    """
    headers: list[tuple[str, str]] = []
    for name, view in (("requests", requests), ("tokens", tokens)):
        if view is None:
            continue
        if family == "openai":
            headers += [
                (f"x-ratelimit-limit-{name}", str(view.limit)),
                (f"x-ratelimit-remaining-{name}", str(view.remaining)),
                (f"x-ratelimit-reset-{name}", go_duration(view.reset)),
            ]
        else:
            reset = ceil_to_second(now + timedelta(seconds=view.reset))
            headers += [
                (f"anthropic-ratelimit-{name}-limit", str(view.limit)),
                (f"anthropic-ratelimit-{name}-remaining", str(view.remaining)),
                (f"anthropic-ratelimit-{name}-reset", rfc3339(reset)),
            ]
    return headers


def retry_headers(seconds: float) -> list[tuple[str, str]]:
    """``retry-after`` (whole seconds, rounded up) and ``retry-after-ms``."""
    millis = max(1, math.ceil(seconds * 1000 - 1e-6))
    return [
        ("retry-after", str(math.ceil(millis / 1000))),
        ("retry-after-ms", str(millis)),
        ("x-should-retry", "true"),
    ]
