"""The Executor actor: FIFO admission under request, token and concurrency limits, then
dispatch to a Backend."""

from __future__ import annotations

from ._executor import Executor as Executor

__all__ = [
    "Executor",
]
