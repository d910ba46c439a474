"""Prompt caching, as OpenAI and Anthropic document it.

Anthropic caches on request: a ``cache_control: {"type": "ephemeral"}`` on a tool, a
system block or a message's content block marks the prompt up to and including it as
a cache prefix. The first request with that prefix writes it (its tokens are reported
as ``cache_creation_input_tokens``), a later one within the entry's lifetime (5 minutes,
or ``"ttl": "1h"``, refreshed by every hit) reads it (``cache_read_input_tokens``); both
leave ``input_tokens``. OpenAI caches automatically: a prompt that begins like an
earlier one (whole messages, tools and instructions first) has that beginning served
from the cache (``prompt_tokens_details.cached_tokens``), in steps of 128 tokens. Either
way a prefix shorter than 1,024 tokens is never cached.

Entries live per model on the provider's trio clock, so MockClock tests run the
lifetimes exactly.
"""

from __future__ import annotations

import attrs

__all__ = ["MIN_CACHED_TOKENS", "CachePoint", "CacheUse", "PromptCache"]

MIN_CACHED_TOKENS = 1024
"""The shortest prefix either provider caches."""

_DEFAULT_TTL = 300.0
_OPENAI_STEP = 128
_PURGE_AT = 4096  # entries; expired ones are dropped beyond this


@attrs.frozen
class CachePoint:
    """A cacheable prefix: its digest, its token count and how long an entry lives."""

    digest: str
    tokens: int
    ttl: float = _DEFAULT_TTL


@attrs.frozen
class CacheUse:
    """What a request read from the cache and wrote to it, in tokens."""

    read: int = 0
    written: int = 0


class PromptCache:
    """The provider's cache of prompt prefixes: digest -> expiry (trio time)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], float] = {}

    def _keep(self, model: str, points: list[CachePoint], now: float) -> None:
        if len(self._entries) > _PURGE_AT:
            self._entries = {key: end for key, end in self._entries.items() if end > now}
        for point in points:
            self._entries[(model, point.digest)] = now + point.ttl

    def _alive(self, model: str, digest: str, now: float) -> bool:
        expiry = self._entries.get((model, digest))
        return expiry is not None and expiry > now

    def explicit(self, model: str, points: list[CachePoint], now: float) -> CacheUse:
        """Anthropic's breakpoints, in prompt order: read the longest live prefix,
        write from there to the last breakpoint."""
        usable = [point for point in points if point.tokens >= MIN_CACHED_TOKENS]
        if not usable:
            return CacheUse()
        hit = next(
            (point for point in reversed(usable) if self._alive(model, point.digest, now)), None
        )
        read = hit.tokens if hit is not None else 0
        written = max(0, usable[-1].tokens - read)
        self._keep(model, usable, now)
        return CacheUse(read=read, written=written)

    def automatic(self, model: str, points: list[CachePoint], now: float) -> CacheUse:
        """OpenAI's prefixes (one per whole message): the longest live one is read, in
        steps of 128 tokens; every prefix of this prompt is kept for later."""
        usable = [point for point in points if point.tokens >= MIN_CACHED_TOKENS]
        hit = next(
            (point for point in reversed(usable) if self._alive(model, point.digest, now)), None
        )
        self._keep(model, usable, now)
        if hit is None:
            return CacheUse()
        return CacheUse(read=hit.tokens // _OPENAI_STEP * _OPENAI_STEP)
