"""A supervised child whose life a test controls, and a log of what happened."""

from __future__ import annotations

from typing import Any

import trio


class Probe:
    """``start`` for a ChildSpec: runs until told to crash or exit, logs start/stop."""

    def __init__(self, name: str, log: list[tuple[str, str]], *, stubborn: float = 0) -> None:
        self.name = name
        self.log = log
        self.starts = 0
        self.alive = False
        self.stubborn = stubborn
        self._control: trio.MemorySendChannel[str] | None = None

    async def run(self, *, task_status: trio.TaskStatus[Probe] = trio.TASK_STATUS_IGNORED) -> None:
        send, receive = trio.open_memory_channel[str](1)
        self._control = send
        self.starts += 1
        self.alive = True
        self.log.append(("start", self.name))
        task_status.started(self)
        try:
            command = await receive.receive()
        finally:
            if self.stubborn:
                # ignore cancellation for a while, as a badly written child would
                with trio.CancelScope(shield=True):
                    await trio.sleep(self.stubborn)
            self.alive = False
            self.log.append(("stop", self.name))
        if command == "crash":
            raise RuntimeError(f"{self.name} crashed")

    def crash(self) -> None:
        assert self._control is not None
        self._control.send_nowait("crash")

    def exit(self) -> None:
        assert self._control is not None
        self._control.send_nowait("exit")


async def failing_start(*, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
    raise OSError("cannot connect")
