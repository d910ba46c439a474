"""The default token estimate: about four characters a token, plus per-message overhead."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from callboard.errors import ConfigError

if TYPE_CHECKING:
    from ._calling import Calling

__all__ = ["TokenEstimator", "estimate_tokens", "estimate_with"]

TokenEstimator = Callable[[Mapping[str, Any]], int]
"""Maps a Calling's payload to the tokens to reserve for it (prompt plus output)."""

_CHARS_PER_TOKEN = 4
_PER_MESSAGE = 4  # role and separators, as chat formats count them
_PER_REQUEST = 3  # the assistant reply's priming
_OUTPUT_KEYS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
_TEXT_KEYS = ("prompt", "input", "system", "instructions")


def estimate_tokens(payload: Mapping[str, Any]) -> int:
    """Estimate the tokens a request will use: its prompt plus the output it allows.

    Deliberately cheap (no tokenizer): the Executor reserves this estimate before
    dispatch and reconciles with the usage the provider reports afterwards.

    Example:
        >>> estimate_tokens({"messages": [{"role": "user", "content": "12345678"}],
        ...                  "max_tokens": 100})
        109
    """
    chars = 0
    tokens = 0
    messages = payload.get("messages")
    if isinstance(messages, list):
        for message in messages:  # pyright: ignore[reportUnknownVariableType]
            tokens += _PER_MESSAGE
            if isinstance(message, Mapping):
                chars += _text_length(message.get("content"))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        tokens += _PER_REQUEST
    for key in _TEXT_KEYS:
        chars += _text_length(payload.get(key))
    if tokens == 0 and chars == 0:
        chars = len(repr(payload))
    for key in _OUTPUT_KEYS:
        value = payload.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            tokens += value
            break
    return tokens + -(-chars // _CHARS_PER_TOKEN)


def _text_length(content: object) -> int:
    if isinstance(content, str):
        return len(content)
    if isinstance(content, list):
        total = 0
        for part in content:  # pyright: ignore[reportUnknownVariableType]
            if isinstance(part, str):
                total += len(part)
            elif isinstance(part, Mapping):
                total += _text_length(part.get("text"))  # pyright: ignore[reportUnknownMemberType, reportUnknownArgumentType]
        return total
    return 0


def estimate_with(
    estimator: TokenEstimator,
    calling: Calling,
    fail: Callable[[Calling, BaseException], None] | None = None,
) -> int:
    """Run a user's ``token_estimator`` on ``calling``'s payload and check its answer.

    The estimator is user code: one that raises or returns something that is not a
    number would otherwise surface as its own error (or a TypeError deep in a bucket),
    far from the option that caused it. A float is rounded up.

    Args:
        estimator: the user's function.
        calling: the Calling to estimate.
        fail: called with the Calling and the error before it is raised (to fail the
            call and say so).

    Raises:
        ConfigError: the estimator raised, or returned something other than a finite
            number >= 0 (``field="token_estimator"``; the estimator's error is the cause).
    """
    try:
        return _checked(estimator, calling)
    except ConfigError as error:
        if fail is not None:
            fail(calling, error)
        raise


def _checked(estimator: TokenEstimator, calling: Calling) -> int:
    try:
        value = cast(object, estimator(calling.payload))  # user code: it may return anything
    except Exception as error:
        raise ConfigError(
            f"token_estimator raised {type(error).__name__} on calling {calling.id}; it must "
            "return the tokens to reserve (an int >= 0) for any payload",
            field="token_estimator",
        ) from error
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigError(
            f"token_estimator returned {type(value).__name__} {value!r:.40} for calling "
            f"{calling.id}; it must return the tokens to reserve as an int >= 0",
            field="token_estimator",
        )
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(
                f"token_estimator returned {value!r} for calling {calling.id}; it must "
                "return a finite number of tokens",
                field="token_estimator",
            )
        return math.ceil(value)
    return value
