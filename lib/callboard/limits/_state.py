"""What a provider told us about its rate limits, in one value."""

from __future__ import annotations

import attrs

__all__ = ["RateLimitState"]


@attrs.frozen(kw_only=True)
class RateLimitState:
    """Rate-limit state reported by a provider, parsed from its response headers.

    Every field is optional because providers send different subsets. Resets and
    ``retry_after`` are *relative* seconds from the moment the response was produced, so a
    limiter can add them to ``trio.current_time()`` without knowing any wall clock.

    Attributes:
        limit_requests: requests allowed per provider window.
        remaining_requests: requests still allowed now.
        reset_requests: seconds until the request allowance is fully replenished.
        limit_tokens: tokens allowed per provider window; for a provider with separate
            input and output limits, the tightest of them (see ``parse_anthropic_headers``).
        remaining_tokens: tokens still allowed now.
        reset_tokens: seconds until the token allowance is fully replenished.
        retry_after: seconds to wait before sending anything again (a 429 or 503).
        limit_input_tokens, remaining_input_tokens, reset_input_tokens: Anthropic's
            input-token limit (ITPM), when reported.
        limit_output_tokens, remaining_output_tokens, reset_output_tokens: Anthropic's
            output-token limit (OTPM), when reported.
        tokens_rounding: the provider rounds its remaining-token counts to multiples of
            this (Anthropic: to the nearest thousand), so they may be off by half of it.

    Example:
        >>> RateLimitState(remaining_requests=0, retry_after=2.0).retry_after
        2.0
    """

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests: float | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens: float | None = None
    retry_after: float | None = None
    limit_input_tokens: int | None = None
    remaining_input_tokens: int | None = None
    reset_input_tokens: float | None = None
    limit_output_tokens: int | None = None
    remaining_output_tokens: int | None = None
    reset_output_tokens: float | None = None
    tokens_rounding: int = 1

    @property
    def empty(self) -> bool:
        """True when the headers carried no rate-limit information at all."""
        return all(
            value is None
            for field, value in attrs.asdict(self).items()
            if field != "tokens_rounding"
        )
