"""How the fake provider enforces its per-minute limits: the modes real providers document.

OpenAI and Anthropic both sell limits per minute and both say the minute is not the
window they enforce. OpenAI: "rate limits can be quantized, meaning they are enforced
over shorter periods of time (e.g. 60,000 requests/minute may be enforced as 1,000
requests/second)". Anthropic: "a rate of 60 requests per minute (RPM) might be enforced
as 1 request per second", with "the token bucket algorithm". They also count tokens
differently (OpenAI reserves ``max_tokens``; Anthropic counts only uncached input and
actual output), and a key is shared with whoever else holds it. ``Enforcement``
names each of these so a test can pick the provider it wants to be judged by.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import attrs

from callboard.errors import ConfigError

_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]

__all__ = ["Charging", "Enforcement", "HeaderMode"]

Charging = Literal["adjust", "no_refund"]
HeaderMode = Literal["always", "on_429", "never"]


def _window(_instance: object, _attribute: attrs.Attribute[float], value: object) -> None:
    if not (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 < value <= 60
    ):
        raise ConfigError(
            f"Enforcement window must be a number of seconds in (0, 60], got {value!r}",
            field="window",
        )


def _share(_instance: object, _attribute: attrs.Attribute[float], value: object) -> None:
    if not (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value < 1
    ):
        raise ConfigError(
            f"Enforcement foreign_share must be a fraction in [0, 1), got {value!r}",
            field="foreign_share",
        )


def _choice(*allowed: str) -> _Validator:
    def check(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value not in allowed:
            raise ConfigError(
                f"Enforcement {attribute.name} must be one of {', '.join(map(repr, allowed))}, "
                f"got {value!r}",
                field=attribute.name,
            )

    return check


def _rounding(_instance: object, _attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"Enforcement token_rounding must be an int >= 1, got {value!r}",
            field="token_rounding",
        )


def _flag(_instance: object, attribute: attrs.Attribute[bool], value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(
            f"Enforcement {attribute.name} must be True or False, got {value!r}",
            field=attribute.name,
        )


@attrs.frozen(kw_only=True)
class Enforcement:
    """How a ``FakeProvider`` enforces ``rpm``, ``tpm``, ``itpm`` and ``otpm``.

    The defaults are the lenient provider the fake always was: one bucket per limit
    holding a full minute, refilled continuously, unused ``max_tokens`` refunded, truthful
    headers on every response. Each field makes it harsher in one documented way.

    Args:
        window: seconds a limit is enforced over. A limit of N per minute becomes a
            bucket of ``N * window / 60`` refilled at ``N / 60`` a second, so
            ``window=1.0`` enforces 1,200 a minute as 20 a second (the quantization both
            providers document). A request larger than the window's share is admitted
            when the bucket is full and leaves it in debt.
        fixed_windows: count each window from zero at fixed boundaries instead of
            refilling continuously (a counter that resets every ``window`` seconds).
        hide_window: headers describe a per-minute bucket that is enforced as well,
            while the shorter ``window`` is enforced without showing in them (OpenAI's
            headers report the minute, not the quantum). Only with ``window < 60``.
        charging: how ``tpm`` charges a request: ``"adjust"`` takes the prompt plus
            ``max_tokens`` when it arrives and refunds what the reply did not use;
            ``"no_refund"`` takes the same and keeps it (the prompt plus ``max_tokens``
            reservation OpenAI documents for its token limit).
        cache_reads_count: whether prompt-cache reads count toward ``itpm``. Anthropic:
            "for most Claude models, only uncached input tokens count toward your ITPM
            rate limits" (Claude Haiku 3.5 is the exception), so the default is False.
        foreign_share: the share of every limit of every key that someone else on the
            key consumes, in discrete requests at a steady rate with seeded jitter. They
            always get their share (the key's buckets may go into debt for them).
        headers: when the rate-limit headers (``x-ratelimit-*``,
            ``anthropic-ratelimit-*``) are sent: ``"always"``, ``"on_429"`` or
            ``"never"``.
        retry_after: whether a 429 carries ``retry-after``, ``retry-after-ms`` and
            ``x-should-retry``.
        token_rounding: round the remaining-token headers to the nearest multiple of
            this (Anthropic documents "rounded to the nearest thousand": use 1000).

    Raises:
        ConfigError: a value is out of range (the error names the field).

    Example:
        >>> strict = Enforcement(window=1.0, charging="no_refund", headers="never")
        >>> strict.window, strict.retry_after
        (1.0, True)
    """

    window: float = attrs.field(default=60.0, validator=_window)
    fixed_windows: bool = attrs.field(default=False, validator=_flag)
    hide_window: bool = attrs.field(default=False, validator=_flag)
    charging: Charging = attrs.field(default="adjust", validator=_choice("adjust", "no_refund"))
    cache_reads_count: bool = attrs.field(default=False, validator=_flag)
    foreign_share: float = attrs.field(default=0.0, validator=_share)
    headers: HeaderMode = attrs.field(
        default="always", validator=_choice("always", "on_429", "never")
    )
    retry_after: bool = attrs.field(default=True, validator=_flag)
    token_rounding: int = attrs.field(default=1, validator=_rounding)

    def __attrs_post_init__(self) -> None:
        if self.hide_window and self.window >= 60:
            raise ConfigError(
                "Enforcement hide_window needs a window shorter than 60 s to hide",
                field="hide_window",
            )

    @property
    def quantized(self) -> bool:
        """True when limits are enforced over a window shorter than the minute."""
        return self.window < 60
