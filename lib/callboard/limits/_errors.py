"""Errors raised by the limits layer."""

from __future__ import annotations

from callboard.errors import CallboardError

__all__ = ["LimitsError", "OversizeRequest"]


class LimitsError(CallboardError):
    """Base class of the errors raised by ``callboard.limits``."""


class OversizeRequest(LimitsError, ValueError):
    """A request asks for more than a limiter can ever hold.

    Raised at once instead of waiting forever: a bucket of ``capacity`` tokens can never
    grant more than ``capacity`` in one piece. Shrink the request (lower ``max_tokens``,
    split the prompt) or raise the limit.

    Attributes:
        requested: the amount that was asked for.
        capacity: the most the limiter can ever grant at once.
    """

    def __init__(self, requested: float, capacity: float) -> None:
        super().__init__(
            f"a request for {requested:g} exceeds the limiter's capacity of {capacity:g} "
            "and could never be admitted; make the request smaller or raise the limit"
        )
        self.requested = requested
        self.capacity = capacity
