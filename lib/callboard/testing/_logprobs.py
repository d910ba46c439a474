"""Token log probabilities: deterministic, and each token the likeliest at its place.

Asked for with ``logprobs: true`` (and ``top_logprobs: k``, 0 to 20) on chat, or
``include: ["message.output_text.logprobs"]`` (and ``top_logprobs``) on the Responses
API. A token's log probability depends only on the token and its position; its ``k``
alternatives are the token with ``k`` suffixes, each less likely than the one before.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ._wire import BadRequest

__all__ = ["token_entries", "top_count"]

_MAX_TOP = 20


def _logprob(token: str, position: int) -> float:
    seed = hashlib.sha256(f"{position}:{token}".encode()).digest()
    return -round(int.from_bytes(seed[:2], "big") / 65536 * 2 + 0.0001, 6)


def token_entries(
    tokens: list[str], start: int, top: int, *, with_bytes: bool = True
) -> list[dict[str, Any]]:
    """The log probability entries of ``tokens``, which begin at output position
    ``start``, each with ``top`` alternatives."""
    entries: list[dict[str, Any]] = []
    for offset, token in enumerate(tokens):
        logprob = _logprob(token, start + offset)
        alternatives: list[dict[str, Any]] = []
        for rank in range(top):
            alt = token if rank == 0 else f"{token}~{rank}"
            alternatives.append(
                {
                    "token": alt,
                    "logprob": round(logprob - rank * 0.75, 6),
                    "bytes": list(alt.encode()),
                }
            )
        entry: dict[str, Any] = {"token": token, "logprob": logprob}
        if with_bytes:
            entry["bytes"] = list(token.encode())
        entry["top_logprobs"] = alternatives
        entries.append(entry)
    return entries


def top_count(body: dict[str, Any]) -> int:
    """``top_logprobs`` checked: an int from 0 to 20 (0 when absent)."""
    value = body.get("top_logprobs")
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_TOP:
        raise BadRequest(
            400, f"'top_logprobs' must be an integer from 0 to {_MAX_TOP}.", param="top_logprobs"
        )
    return value
