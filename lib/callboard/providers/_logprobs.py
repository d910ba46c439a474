"""Reading token log probabilities, in the one shape OpenAI's chat and Responses APIs share."""

from __future__ import annotations

import math
from typing import cast

from callboard.resilience import InvalidResponse

from ._body import get_str, opt_list, want_map
from ._parts import Logprobs, TokenLogprob

__all__ = ["chat_logprobs", "token_logprobs"]


def token_logprobs(value: object, where: str, *, top: bool = True) -> tuple[TokenLogprob, ...]:
    """``[{"token", "logprob", "bytes", "top_logprobs"}, ...]`` (null is empty).

    Raises:
        InvalidResponse: the list or an entry is not of that shape.
    """
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidResponse(f"expected a JSON array at {where}, got {type(value).__name__}")
    found: list[TokenLogprob] = []
    for n, item in enumerate(cast(list[object], value)):
        here = f"{where}[{n}]"
        entry = want_map(item, here)
        logprob = _number(entry.get("logprob"), f"{here}.logprob")
        raw_bytes = entry.get("bytes")
        encoded: tuple[int, ...] | None = None
        if raw_bytes is not None:
            items = opt_list(entry, "bytes", here)
            if not all(type(b) is int and 0 <= b <= 255 for b in items):
                raise InvalidResponse(f"expected byte values at {here}.bytes")
            encoded = cast(tuple[int, ...], tuple(items))
        alternatives = token_logprobs(entry.get("top_logprobs"), f"{here}.top_logprobs", top=False)
        found.append(
            TokenLogprob(
                token=get_str(entry, "token", here) or "",
                logprob=logprob,
                bytes=encoded,
                top_logprobs=alternatives if top else (),
            )
        )
    return tuple(found)


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidResponse(f"expected a number at {where}")
    try:
        number = float(value)
    except OverflowError:
        raise InvalidResponse(f"the number at {where} is out of range") from None
    return number if not math.isnan(number) else -math.inf


def chat_logprobs(value: object, where: str) -> Logprobs | None:
    """A chat choice's ``logprobs`` object (``content`` and ``refusal`` lists), or
    ``None`` when the request did not ask for them."""
    if value is None:
        return None
    fields = want_map(value, where)
    return Logprobs(
        content=token_logprobs(fields.get("content"), f"{where}.content"),
        refusal=token_logprobs(fields.get("refusal"), f"{where}.refusal"),
    )
