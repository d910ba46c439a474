"""The Executor actor: FIFO admission under request, token and concurrency limits, then
dispatch to a Backend."""

from __future__ import annotations

from ._admission import Admission as Admission
from ._admission import AdmissionSnapshot as AdmissionSnapshot
from ._events import AdmissionChanged as AdmissionChanged
from ._events import CallingRequeued as CallingRequeued
from ._executor import Executor as Executor
from ._submit import RequestEvent as RequestEvent

__all__ = [
    "Admission",
    "AdmissionChanged",
    "AdmissionSnapshot",
    "CallingRequeued",
    "Executor",
    "RequestEvent",
]
