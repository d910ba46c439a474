"""The Executor actor: FIFO admission under request, token and concurrency limits, then
dispatch to a Backend."""

from __future__ import annotations

from ._executor import Executor as Executor
from ._submit import RequestEvent as RequestEvent

__all__ = [
    "Executor",
    "RequestEvent",
]
