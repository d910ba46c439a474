"""Anthropic's prompt cache, as far as rate limits and usage see it.

A content block carrying ``cache_control`` marks a breakpoint: the prompt up to and
including it (system blocks first, then the messages in order) is cached for five
minutes, refreshed on every hit. A request whose prefix up to a breakpoint was cached
reads it (``cache_read_input_tokens``); the rest up to the last breakpoint is written
(``cache_creation_input_tokens``); what follows the last breakpoint is ``input_tokens``.
Prefixes are counted with the fake's own prompt arithmetic (``_content``), and there is
no minimum cacheable length.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

from ._content import NON_TEXT_PART_TOKENS, PER_MESSAGE_TOKENS, PER_REQUEST_TOKENS, digest

__all__ = ["CACHE_TTL", "PromptCache"]

CACHE_TTL = 300.0
"""Seconds a cached prefix lives after its last use (Anthropic's default five minutes)."""


def _blocks(content: object) -> list[dict[str, Any]]:
    if isinstance(content, list):
        return [b for b in content if isinstance(b, dict)]  # pyright: ignore[reportUnknownVariableType]
    return []


def _part_tokens(texts: list[str], others: int) -> int:
    # The same arithmetic as estimate_prompt_tokens: texts joined with newlines.
    return PER_MESSAGE_TOKENS + math.ceil(len("\n".join(texts)) / 4) + others * NON_TEXT_PART_TOKENS


def _breakpoints(
    model: str, system: object, conversation: Sequence[dict[str, Any]]
) -> Iterator[tuple[int, str]]:
    """``(tokens, digest)`` of the prompt up to and including each ``cache_control`` block.

    The digest covers only the blocks up to the breakpoint (without their
    ``cache_control``), so what follows a prefix never changes its key.
    """
    done = PER_REQUEST_TOKENS
    seen: list[object] = [model]
    for position, content in enumerate([system, *(m.get("content") for m in conversation)]):
        texts: list[str] = [content] if isinstance(content, str) else []
        others = 0
        seen.append(("part", position, texts[0] if texts else None))
        for block in _blocks(content):
            text = block.get("text")
            if block.get("type") == "text" and isinstance(text, str):
                texts.append(text)
            else:
                others += 1
            seen.append({k: v for k, v in block.items() if k != "cache_control"})
            if block.get("cache_control") is not None:
                yield done + _part_tokens(texts, others), digest(*seen)
        if position == 0 and not "\n".join(texts):
            continue  # no system prompt costs nothing
        done += _part_tokens(texts, others)


class PromptCache:
    """The cached prompt prefixes of one key, by digest, with their expiry (wall seconds)."""

    def __init__(self) -> None:
        self._expires: dict[str, float] = {}

    def use(
        self,
        model: str,
        system: object,
        conversation: Sequence[dict[str, Any]],
        now: float,
    ) -> tuple[int, int]:
        """Look the request's breakpoints up and cache them: ``(read, written)`` tokens."""
        points = list(_breakpoints(model, system, conversation))
        if not points:
            return 0, 0
        read = 0
        for tokens, key in reversed(points):
            expires = self._expires.get(key)
            if expires is not None and expires > now:
                read = tokens
                break
        for _, key in points:
            self._expires[key] = now + CACHE_TTL
        if len(self._expires) > 4096:  # forget the expired ones now and then
            self._expires = {k: v for k, v in self._expires.items() if v > now}
        return read, points[-1][0] - read
