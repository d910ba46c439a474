"""Backends for the Router tests: each records which calls it served, and fails on cue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import trio

from callboard import (
    BadRequest,
    Calling,
    ConnectionFailed,
    NormalizedResponse,
    RateLimited,
    ServerError,
    StreamDelta,
    Usage,
)

Failure = Callable[[], BaseException]

FAILURES: dict[str, Failure] = {
    "server": lambda: ServerError("upstream failed", status=500),
    "connection": lambda: ConnectionFailed("connection refused"),
    "rate": lambda: RateLimited("slow down", status=429, retry_after=2.0),
    "bad": lambda: BadRequest("messages: field required", status=400),
    "context": lambda: BadRequest(
        "This model's maximum context length is 8192 tokens",
        status=400,
        error_type="context_length_exceeded",
    ),
}


class Deployed:
    """A deployment's backend: answers after ``delay`` simulated seconds with its own
    name, or fails as ``script`` says (one entry per call, ``None`` = succeed; past the
    end it uses ``then``). ``in_flight`` holds the payload ids it is running now."""

    def __init__(
        self,
        name: str,
        *,
        delay: float = 0.1,
        script: list[str | None] | None = None,
        then: str | None = None,
        words: list[str] | None = None,
        fail_after_words: int | None = None,
    ) -> None:
        self.name = name
        self.delay = delay
        self.script = list(script or [])
        self.then = then
        self.words = words
        self.fail_after_words = fail_after_words
        self.calls = 0
        self.served: list[Any] = []
        self.attempted: list[Any] = []  # the payload id of every call it started
        self.in_flight: set[Any] = set()
        self.registry: dict[Any, list[str]] | None = None  # call id -> deployments in flight

    async def execute(self, calling: Calling) -> Any:
        index = self.calls
        self.calls += 1
        key = calling.payload.get("id")
        self.attempted.append(key)
        running = self.registry.setdefault(key, []) if self.registry is not None else []
        running.append(self.name)
        assert len(running) == 1, f"call {key} in flight on {running}"
        try:
            failure = self.script[index] if index < len(self.script) else self.then
            if self.words is not None:
                return await self._stream(calling, failure)
            await trio.sleep(self.delay)
            if failure is not None:
                raise FAILURES[failure]()
            self.served.append(key)
            return {"served_by": self.name, "id": key}
        finally:
            running.remove(self.name)

    async def _stream(self, calling: Calling, failure: str | None) -> NormalizedResponse:
        assert self.words is not None
        sink = calling.stream_sink
        for index, word in enumerate(self.words):
            if failure is not None and index == (self.fail_after_words or 0):
                raise FAILURES[failure]()
            await trio.sleep(self.delay)
            if sink is not None:
                await sink.send(StreamDelta(text=word))
        self.served.append(calling.payload.get("id"))
        usage = Usage(prompt_tokens=1, completion_tokens=len(self.words))
        return NormalizedResponse(text="".join(self.words), usage=usage, finish_reason="stop")
