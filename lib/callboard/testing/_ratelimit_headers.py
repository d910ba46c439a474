"""Rate-limit and retry headers, in each provider's spelling."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta

from ._clock import ceil_to_second, go_duration, rfc3339
from ._ratelimit import BucketView
from ._wire import Family

__all__ = ["rate_limit_headers", "retry_headers"]

_ANTHROPIC_NAMES = {
    "requests": "requests",
    "input_tokens": "input-tokens",
    "output_tokens": "output-tokens",
}


def rate_limit_headers(
    family: Family, views: Mapping[str, BucketView], now: datetime
) -> list[tuple[str, str]]:
    """The limit/remaining/reset headers of a key's limits (unlimited ones are omitted).

    OpenAI: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``, resets as Go
    durations (it has no separate input and output limits). Anthropic:
    ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-{limit,remaining,
    reset}``, resets as RFC 3339 instants rounded up to the second, on the same clock as
    ``Date``. Anthropic's ``tokens-*`` describe the combined limit; without one they add
    the input and output limits up, as Anthropic documents ("the sum of input and output
    tokens").
    """
    headers: list[tuple[str, str]] = []
    if family == "openai":
        for name in ("requests", "tokens"):
            view = views.get(name)
            if view is not None:
                headers += [
                    (f"x-ratelimit-limit-{name}", str(view.limit)),
                    (f"x-ratelimit-remaining-{name}", str(view.remaining)),
                    (f"x-ratelimit-reset-{name}", go_duration(view.reset)),
                ]
        return headers
    shown: list[tuple[str, BucketView]] = []
    request_view = views.get("requests")
    if request_view is not None:
        shown.append(("requests", request_view))
    combined = views.get("tokens") or _sum(views.get("input_tokens"), views.get("output_tokens"))
    if combined is not None:
        shown.append(("tokens", combined))
    for name in ("input_tokens", "output_tokens"):
        view = views.get(name)
        if view is not None:
            shown.append((_ANTHROPIC_NAMES[name], view))
    for name, view in shown:
        reset = ceil_to_second(now + timedelta(seconds=view.reset))
        headers += [
            (f"anthropic-ratelimit-{name}-limit", str(view.limit)),
            (f"anthropic-ratelimit-{name}-remaining", str(view.remaining)),
            (f"anthropic-ratelimit-{name}-reset", rfc3339(reset)),
        ]
    return headers


def _sum(first: BucketView | None, second: BucketView | None) -> BucketView | None:
    if first is None or second is None:
        return first or second
    return BucketView(
        first.limit + second.limit,
        first.remaining + second.remaining,
        max(first.reset, second.reset),
    )


def retry_headers(seconds: float) -> list[tuple[str, str]]:
    """``retry-after`` (whole seconds, rounded up), ``retry-after-ms`` and
    ``x-should-retry: true``."""
    millis = max(1, math.ceil(seconds * 1000 - 1e-6))
    return [
        ("retry-after", str(math.ceil(millis / 1000))),
        ("retry-after-ms", str(millis)),
        ("x-should-retry", "true"),
    ]
