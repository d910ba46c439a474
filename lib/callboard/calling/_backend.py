"""The one method an Executor needs from whatever actually performs a call."""

from __future__ import annotations

import types
from collections.abc import Awaitable, Generator
from typing import Any, Protocol

from ._calling import Calling

__all__ = ["Backend", "Yielded", "noting_yields"]


class Backend(Protocol):
    """Performs one attempt of a Calling: an Endpoint actor, a tool, a test double.

    ``execute`` is awaited once per dispatch inside a cancel scope the Executor owns (the
    Calling's timeout and its caller's cancellation land there). Return the response or
    raise; set ``calling.actual_tokens`` from the usage the provider reported so the
    Executor can refund or debit the difference from its estimate.
    """

    async def execute(self, calling: Calling) -> Any:
        """Perform the call and return its response."""
        ...


class Yielded:
    """Set by ``noting_yields`` once the coroutine it drives yielded to trio."""

    __slots__ = ("once",)

    def __init__(self) -> None:
        self.once = False


@types.coroutine
def noting_yields(awaitable: Awaitable[Any], yielded: Yielded) -> Generator[Any, Any, Any]:
    """``await coro``, noting in ``yielded`` whether it ever yielded to trio.

    A call run on its caller's task must be a schedule point, as every trio call is,
    or a loop of calls whose backend never waits (a Tool with nothing to await, an open
    circuit) would starve every other task. An HTTP call always waits for its answer:
    noting that is what lets the runner add a schedule point only to a call that did
    not wait, instead of a scheduler round to every call.
    """
    steps = awaitable.__await__()  # a coroutine's, or any other awaitable's
    try:
        trap = steps.send(None)
    except StopIteration as done:
        return done.value
    yielded.once = True
    while True:
        try:
            answer = yield trap
        except BaseException as error:  # thrown in (GeneratorExit, KeyboardInterrupt)
            try:
                trap = steps.throw(error)
            except StopIteration as done:
                return done.value
        else:
            try:
                trap = steps.send(answer)
            except StopIteration as done:
                return done.value
