"""The one method an Executor needs from whatever actually performs a call."""

from __future__ import annotations

from typing import Any, Protocol

from ._calling import Calling

__all__ = ["Backend"]


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
