"""submit_task: an Executor that rate-limits any async call, not only a Backend's.

lionfuncs' Executor takes *coroutine functions* (``submit_task(api_call_coroutine)``)
and hands back a request event to await. Here that is a Calling like any other: it
queues in the same FIFO, passes the same request, token and concurrency limits, and its
coroutine function is what the Executor's backend runs when it is admitted. An Executor
built without a backend gets ``TaskBackend`` as its backend for this.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Generator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

import attrs

from callboard.actors._block import BlockNursery
from callboard.calling import Calling, CallingStatus
from callboard.errors import ConfigError

if TYPE_CHECKING:
    from ._executor import Executor

__all__ = ["RequestEvent", "TaskBackend", "TaskSubmission"]

TaskFunction = Callable[[], Awaitable[Any]]


class TaskBackend:
    """The backend of an Executor given none: each Calling runs the coroutine function
    ``submit_task()`` queued it with."""

    def __init__(self) -> None:
        self._tasks: weakref.WeakKeyDictionary[Calling, TaskFunction] = weakref.WeakKeyDictionary()

    def add(self, calling: Calling, task: TaskFunction) -> None:
        self._tasks[calling] = task

    async def execute(self, calling: Calling) -> Any:
        """Run the Calling's coroutine function and return what it returns.

        Raises:
            ConfigError: the Calling was not queued by ``submit_task``.
            Exception: whatever the coroutine raises (it fails the Calling).
        """
        task = self._tasks.pop(calling, None)
        if task is None:
            raise ConfigError(
                "an Executor built without a backend runs only what submit_task() queued; "
                "give it a backend to call Executor.call/submit with plain Callings",
                field="backend",
            )
        return await task()


@attrs.frozen(eq=False)
class RequestEvent:
    """What ``submit_task()`` returns: the queued call, to await.

    ``await event`` returns the coroutine's result or raises its error (or the
    Executor's: a timeout, a cancellation). ``status``, ``result`` and ``error`` read
    the state at any time; ``calling`` is the Calling underneath.

    Attributes:
        calling: the Calling that carries it through the Executor.
        endpoint_url: what the call addresses, for logs (as given).
        method: the HTTP method or SDK call, for logs (as given).
        payload: the request, for logs (as given).
        metadata: anything the caller attached.
    """

    calling: Calling
    endpoint_url: str | None = None
    method: str | None = None
    payload: Any = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict[str, Any])

    @property
    def status(self) -> CallingStatus:
        """Where the call is: pending, queued, running, or how it ended."""
        return self.calling.status

    @property
    def result(self) -> Any:
        """What the coroutine returned, once completed; ``None`` before or on failure."""
        return self.calling.response if self.calling.status is CallingStatus.COMPLETED else None

    @property
    def error(self) -> BaseException | None:
        """Why it failed (the coroutine's exception, a timeout ...), else ``None``."""
        return self.calling.error

    async def wait(self) -> Any:
        """The result, once the call finished; raises its error if it failed."""
        return await self.calling.wait()

    def __await__(self) -> Generator[Any, None, Any]:
        return self.wait().__await__()


class TaskSubmission:
    """Executor's ``submit_task`` and ``async with`` (kept here: one idea per module)."""

    _block: BlockNursery | None = None

    @property
    def takes_tasks(self) -> bool:
        """True for an Executor built without a backend (it runs what submit_task queues)."""
        return isinstance(cast("Executor", self)._backend, TaskBackend)  # pyright: ignore[reportPrivateUsage]

    async def submit_task(
        self,
        api_call_coroutine: TaskFunction,
        *,
        num_api_tokens_needed: int = 0,
        endpoint_url: str | None = None,
        method: str | None = None,
        payload: Any = None,
        metadata: Mapping[str, Any] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the call's deadline, not this await's
    ) -> RequestEvent:
        """Queue ``api_call_coroutine()`` under this Executor's limits; return at once.

        The call waits its turn (FIFO), takes a concurrency slot, one request and
        ``num_api_tokens_needed`` tokens, then ``api_call_coroutine`` is awaited on one
        of the Executor's workers. Only an Executor built without a backend takes tasks.

        Args:
            api_call_coroutine: a function of no arguments returning an awaitable.
            num_api_tokens_needed: tokens to reserve (0: none, when there is no token
                limit; else a minimal estimate).
            endpoint_url: recorded on the event, for logs.
            method: recorded on the event, for logs.
            payload: recorded on the event, for logs.
            metadata: recorded on the event.
            timeout: seconds for queueing plus running; ``None`` for no limit.

        Returns:
            The [`RequestEvent`][callboard.RequestEvent]; ``await`` it for the result.

        Raises:
            ConfigError: the Executor has a backend, or the coroutine is not callable.
            ActorStopped: the Executor is not running (``async with executor:``).
            OversizeRequest: more tokens than the token bucket can ever hold.
        """
        executor = cast("Executor", self)
        backend = executor._backend  # pyright: ignore[reportPrivateUsage]
        if not isinstance(backend, TaskBackend):
            raise ConfigError(
                f"executor {executor.name!r} runs its backend; submit_task() needs an Executor "
                "built without one: Executor(limit_requests=...)",
                field="backend",
            )
        if not callable(api_call_coroutine):
            raise ConfigError(
                "submit_task() takes a function returning an awaitable, e.g. "
                "lambda: client.get(url), not an awaitable itself",
                field="api_call_coroutine",
            )
        calling = Calling(timeout=timeout, estimated_tokens=max(num_api_tokens_needed, 0))
        backend.add(calling, api_call_coroutine)
        await executor.submit(calling)
        return RequestEvent(
            calling,
            endpoint_url=endpoint_url,
            method=method,
            payload=payload,
            metadata=dict(metadata or {}),
        )

    async def __aenter__(self) -> Executor:
        """Run the Executor in a nursery of the block's own; leaving stops it gracefully
        (what is queued still runs)."""
        executor = cast("Executor", self)
        block = BlockNursery()
        nursery = await block.open()
        try:
            await nursery.start(executor.run)
        except BaseException as error:
            await block.close(error)
            raise
        self._block = block
        return executor

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        block, self._block = self._block, None
        if exc is None:
            cast("Executor", self).ref.stop()
        if block is not None:
            await block.close(exc)
