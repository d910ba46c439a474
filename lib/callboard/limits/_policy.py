"""AdmissionPolicy: how configured limits become the pace calls are admitted at."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import attrs

from callboard.errors import ConfigError

_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]

__all__ = ["AdmissionPolicy", "Pacing", "TokenAccounting"]

Pacing = Literal["smooth", "burst"]
TokenAccounting = Literal["auto", "reserved", "usage", "input"]

# A smooth bucket holds this much less than ``burst`` seconds of the rate, so that it
# stays a little behind a provider enforcing the very same window: the provider's clock
# starts when the first request *arrives*, ours when it leaves.
SMOOTH_MARGIN = 0.05


def _fraction(low: float, high: float, *, closed_low: bool = False) -> _Validator:
    def check(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        ok = False
        if isinstance(value, int | float) and not isinstance(value, bool):
            above = low <= value if closed_low else low < value
            ok = math.isfinite(value) and above and value < high
        if not ok:
            bracket = "[" if closed_low else "("
            raise ConfigError(
                f"AdmissionPolicy {attribute.name} must be a number in {bracket}{low}, {high}), "
                f"got {value!r}",
                field=attribute.name,
            )

    return check


def _seconds(_instance: object, attribute: attrs.Attribute[float], value: object) -> None:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not (number and math.isfinite(value) and value > 0):  # pyright: ignore[reportArgumentType, reportOperatorIssue]
        raise ConfigError(
            f"AdmissionPolicy {attribute.name} must be a positive number of seconds, got {value!r}",
            field=attribute.name,
        )


def _choice(*allowed: str | None) -> _Validator:
    def check(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value not in allowed:
            raise ConfigError(
                f"AdmissionPolicy {attribute.name} must be one of "
                f"{', '.join(map(repr, allowed))}, got {value!r}",
                field=attribute.name,
            )

    return check


def _flag(_instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(
            f"AdmissionPolicy {attribute.name} must be True or False, got {value!r}",
            field=attribute.name,
        )


@attrs.frozen(kw_only=True)
class AdmissionPolicy:
    """How an Executor turns its configured limits into the pace it admits calls at.

    Configured limits are an upper bound and a first guess. By default a limit given as
    a number, "N per minute", is admitted as a smooth rate of N / 60 a second with a
    bucket of about one second of it (``burst=1.0``), because providers enforce
    per-minute limits over shorter windows; ``pacing="burst"`` lets the whole minute go
    at once, for a provider known to allow it. A limit given as a [`Limiter`][callboard.Limiter] (a
    ``TokenBucket``, a ``RedisLimiter``) keeps the burst its capacity allows unless
    ``pacing="smooth"`` says otherwise. With ``learn=True`` every 429, ``retry-after`` and
    rate-limit header adjusts an *effective* rate and burst that never exceed the
    configured ones: a refusal cuts the rate (to what the provider was seen to sustain
    between two refusals, else by ``decrease``), and clean responses bring it back along
    a cubic curve that returns to the rate of the cut after ``recovery`` seconds and
    then probes above it. See ``docs/concepts/limits.md``.

    Args:
        pacing: ``"smooth"`` (a bucket of ``burst`` seconds of the rate), ``"burst"``
            (a bucket of the whole configured capacity), or ``None``: smooth for limits
            given as numbers, the limiter's own capacity for a ``Limiter``.
        burst: for smooth pacing, seconds of the configured rate the bucket holds (less
            5%, so it stays behind a provider enforcing the same window).
        learn: adapt the effective rate and burst to the provider's feedback; False
            admits at the configured rate whatever the provider says (pauses and
            ``remaining`` headers still apply).
        decrease: the factor a refusal multiplies the effective rate by when there is no
            better estimate of what the provider sustains.
        recovery: seconds of clean responses after a cut for the rate to climb back to
            where it was cut; the climb then continues, slowly at first, up to the
            configured rate.
        min_rate: the effective rate never falls below this share of the configured one.
        max_pause: the longest pause any ``retry-after`` or reset header may impose on
            admission; a call told to wait longer fails at once with ``RateLimited``
            (its ``retry_after`` says what the provider asked) while admission keeps
            probing after the capped pause.
        token_accounting: how reserved tokens are settled when a call ends.
            ``"usage"``: to the usage the provider reported (refund or debit).
            ``"reserved"``: never below what was reserved (OpenAI documents charging
            the prompt plus ``max_tokens`` when a request arrives); debited when the
            provider counted more. ``"input"``: the token limit counts input only
            (Anthropic's ITPM: give ``limit_tokens`` its figure): reserve the prompt
            and settle to the uncached input. ``"auto"``: to what the provider's
            dialect says it charged (OpenAI: the prompt as it counted it plus
            ``max_tokens``; Anthropic: uncached input plus output), else as
            ``"usage"``. Rate-limit headers correct the bucket either way, where they
            count what this limit counts.

    Raises:
        ConfigError: a value is out of range (the error names the field).

    Example:
        >>> AdmissionPolicy(pacing="burst").pacing
        'burst'
        >>> AdmissionPolicy(max_pause=5.0).max_pause
        5.0
    """

    pacing: Pacing | None = attrs.field(default=None, validator=_choice("smooth", "burst", None))
    burst: float = attrs.field(default=1.0, validator=_seconds)
    learn: bool = attrs.field(default=True, validator=_flag)
    decrease: float = attrs.field(default=0.7, validator=_fraction(0.0, 1.0))
    recovery: float = attrs.field(default=10.0, validator=_seconds)
    min_rate: float = attrs.field(default=0.02, validator=_fraction(0.0, 1.0))
    max_pause: float = attrs.field(default=60.0, validator=_seconds)
    token_accounting: TokenAccounting = attrs.field(
        default="auto", validator=_choice("auto", "reserved", "usage", "input")
    )
