"""Lifecycle events of admission itself: a limit's effective rate changed, a refused call
went back to its place in the queue."""

from __future__ import annotations

import attrs

from callboard.actors import LifecycleEvent
from callboard.calling import CallingEvent

__all__ = ["AdmissionChanged", "CallingRequeued"]


@attrs.frozen(kw_only=True)
class AdmissionChanged(LifecycleEvent):
    """A limit's effective rate changed: the provider refused a call (``"cut"``), its
    headers stated a lower limit (``"limit"``), clean responses brought the rate up by
    a tenth (``"recovering"``) or back to its ceiling (``"recovered"``), or another process
    sharing the limit cut it (``"shared"``). Rates are units a second.
    """

    executor: str
    unit: str
    reason: str
    configured_rate: float | None
    effective_rate: float | None
    effective_burst: float


@attrs.frozen(kw_only=True)
class CallingRequeued(CallingEvent):
    """The provider refused the Calling for rate (a 429): it waits for its turn again,
    ahead of the Callings queued after it, without spending a retry. ``wait`` is the
    admission pause then in effect (0: none), ``limited_by`` the limit(s) it hit."""

    wait: float
    limited_by: str
