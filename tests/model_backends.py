"""Backends for the iModel tests: streaming, echoing, failing, holding a secret."""

from __future__ import annotations

from typing import Any

import trio

from callboard.calling import Calling
from callboard.providers import NormalizedResponse, StreamDelta, Usage


class EchoBackend:
    """Returns the payload after ``delay`` simulated seconds; counts calls."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0
        self.started: list[float] = []

    async def execute(self, calling: Calling) -> Any:
        self.calls += 1
        self.started.append(trio.current_time())
        await trio.sleep(self.delay)
        return dict(calling.payload)


class Boom(Exception):
    """Not a callboard error: iModel wraps it in InvocationError."""


class FailingBackend:
    """Raises an untyped error whose message holds ``secret``."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.calls = 0

    async def execute(self, calling: Calling) -> Any:
        self.calls += 1
        await trio.lowlevel.checkpoint()
        raise Boom(f"failed with key {self.secret}")


class StreamingBackend:
    """Streams ``words`` into the Calling's sink, ``gap`` seconds apart, then returns a
    NormalizedResponse whose usage becomes ``actual_tokens``. Fails after ``fail_after``
    chunks when set."""

    def __init__(
        self, words: list[str] | None = None, gap: float = 0.1, fail_after: int | None = None
    ) -> None:
        self.words = words if words is not None else ["Once ", "upon ", "a ", "time."]
        self.gap = gap
        self.fail_after = fail_after
        self.sent: list[tuple[str, float]] = []

    async def execute(self, calling: Calling) -> NormalizedResponse:
        sink = calling.stream_sink
        for index, word in enumerate(self.words):
            if self.fail_after is not None and index == self.fail_after:
                raise Boom("stream broke")
            await trio.sleep(self.gap)
            if sink is not None:
                await sink.send(StreamDelta(text=word))
            self.sent.append((word, trio.current_time()))
        usage = Usage(prompt_tokens=3, completion_tokens=len(self.words))
        calling.actual_tokens = usage.total_tokens
        return NormalizedResponse(text="".join(self.words), usage=usage, finish_reason="stop")
