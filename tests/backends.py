"""Test backends for the Executor: they implement ``async execute(calling)``."""

from __future__ import annotations

from typing import Any

import trio

from callboard.calling import Calling


class BackendError(Exception):
    """What FailingBackend and ScriptedBackend raise."""


class NoopBackend:
    """Returns at once (after one checkpoint), echoing the payload."""

    def __init__(self) -> None:
        self.calls = 0

    async def execute(self, calling: Calling) -> Any:
        self.calls += 1
        await trio.lowlevel.checkpoint()
        return calling.payload


class SleepingBackend:
    """Sleeps ``delay`` simulated seconds, records when each call started and overlap."""

    def __init__(self, delay: float = 1.0) -> None:
        self.delay = delay
        self.started: list[tuple[str, float]] = []
        self.running = 0
        self.max_running = 0

    async def execute(self, calling: Calling) -> Any:
        self.started.append((calling.id, trio.current_time()))
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await trio.sleep(self.delay)
        finally:
            self.running -= 1
        return "done"


class ScriptedBackend:
    """Behaves as the payload says: ``sleep`` seconds, then ``fail`` or return; reports
    ``usage`` as the actual tokens (also when cancelled, as a stream would)."""

    def __init__(self) -> None:
        self.running = 0
        self.started: list[tuple[str, float]] = []

    async def execute(self, calling: Calling) -> Any:
        self.started.append((calling.id, trio.current_time()))
        self.running += 1
        try:
            usage = calling.payload.get("usage")
            if usage is not None:
                calling.actual_tokens = usage
            await trio.sleep(calling.payload.get("sleep", 0.0))
            if calling.payload.get("fail"):
                raise BackendError(f"scripted failure of {calling.id}")
            return calling.payload.get("reply", "ok")
        finally:
            self.running -= 1
