"""What admission reads from a 429 and from rate-limit headers: which limit a refusal
hit, whether waiting can help, and how long an exhausted limit holds admission back; and
what it estimates when only input tokens count."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import attrs

from callboard.calling import TokenEstimator
from callboard.limits import RateLimitState
from callboard.resilience import ProviderError

__all__ = ["Refusal", "exhausted_pause", "input_only", "limited_by", "quota_gone"]

_OUTPUT_KEYS = frozenset({"max_tokens", "max_completion_tokens", "max_output_tokens"})

# A 429 that says the quota is gone, not the rate: waiting does not help.
_QUOTA_GONE = frozenset({"insufficient_quota", "enforced_spend_limit_reached", "billing_error"})
# How both providers name the limit in a 429's message: "... on tokens per min (TPM)",
# "... for requests per minute", "... of 40,000 input tokens per minute".
_TOKENS = re.compile(r"tokens?\s+per\s+min|\(tpm\)|\(itpm\)|\(otpm\)")
_REQUESTS = re.compile(r"requests?\s+per\s+min|\(rpm\)")


@attrs.frozen
class Refusal:
    """What admission made of a 429: ``final`` means the call fails with it now
    (``why`` says why); otherwise it waits its turn, at least ``wait`` seconds."""

    final: bool
    wait: float
    limited_by: str
    why: str = ""


def quota_gone(error: ProviderError) -> bool:
    """The provider says the quota is spent (not the rate), or not to retry."""
    return error.should_retry is False or (error.error_type or "") in _QUOTA_GONE


def limited_by(error: ProviderError, state: RateLimitState | None) -> str:
    """Which limit a 429 hit: ``"requests"``, ``"tokens"`` or ``"both"`` (unknown).

    Both providers name it in the message ("... for requests", "... input tokens per
    minute"); else the headers that came with it say which one ran out.
    """
    text = error.message.lower()
    has_tokens = _TOKENS.search(text) is not None
    has_requests = _REQUESTS.search(text) is not None
    if has_tokens and not has_requests:
        return "tokens"
    if has_requests and not has_tokens:
        return "requests"
    if state is not None:
        if state.remaining_requests is not None and state.remaining_requests < 1:
            return "requests"
        if state.remaining_tokens is not None and state.remaining_tokens <= state.tokens_rounding:
            return "tokens"
    return "both"


def exhausted_pause(state: RateLimitState) -> float | None:
    """Seconds admission should wait because a limit the headers report ran out.

    For every limit reported (requests, the tightest token limit, input and output
    tokens) whose ``remaining`` is nothing, the time its per-minute rate needs to free
    one unit (or, for Anthropic's thousand-rounded token counts, a thousandth of the
    minute's tokens), never beyond its own reset.
    """
    longest: float | None = None
    figures: Mapping[str, tuple[int | None, int | None, float | None, float]] = {
        "requests": (state.limit_requests, state.remaining_requests, state.reset_requests, 1.0),
        "tokens": (
            state.limit_tokens,
            state.remaining_tokens,
            state.reset_tokens,
            float(state.tokens_rounding),
        ),
        "input": (
            state.limit_input_tokens,
            state.remaining_input_tokens,
            state.reset_input_tokens,
            float(state.tokens_rounding),
        ),
        "output": (
            state.limit_output_tokens,
            state.remaining_output_tokens,
            state.reset_output_tokens,
            float(state.tokens_rounding),
        ),
    }
    for limit, remaining, reset, unit in figures.values():
        if limit is None or remaining is None or limit <= 0 or remaining >= unit / 2:
            continue
        wait = 60.0 * unit / limit
        if reset is not None:
            wait = min(wait, reset)
        if math.isfinite(wait) and wait > 0:
            longest = wait if longest is None else max(longest, wait)
    return longest


def input_only(estimator: TokenEstimator) -> TokenEstimator:
    """``estimator`` on the payload without its output limit (``token_accounting="input"``)."""
    return lambda payload: estimator({k: v for k, v in payload.items() if k not in _OUTPUT_KEYS})
