"""The effective rate of one limit: cut when the provider refuses, recovered while it accepts.

Pure arithmetic on times the caller passes in (``trio.current_time()`` in the limiter),
so the rules are tested exactly, without a clock.

**Decrease.** A 429 that admission caused means the provider's bucket was empty. Two
such refusals in a row bracket a stretch in which the client sent more than the provider
allowed and the provider's bucket went from empty to empty, so what it *accepted* in
between, divided by the time, is what it sustains: the rate is cut to a little under
that. Without such a measurement (the first refusal, too few calls in between) the rate
is multiplied by ``decrease``.

An isolated refusal (none for ``recovery`` seconds before it) cuts only a third as
deep: it says the level was off (requests bunched on the way) or the limit moved a
little, and a rate that is really too high is refused again soon, which cuts the full
depth or to the measurement. A refusal of a request granted before the last cut is the
same overload and does not cut again (the limiter's business).

**Recovery.** While responses come back clean the rate climbs back along TCP CUBIC's
curve: fast at first, flattening as it nears the rate it was cut at (reached after
``recovery`` seconds of clean responses for a cut of the full depth, sooner for a
shallower one: the time back grows as the cube root of the cut, as in CUBIC), then
slowly faster beyond it, up to the ceiling (the configured rate, or lower when the
provider's headers say so). Only time with clean responses counts, so an idle model
does not climb back while nothing tests the provider. From anywhere, the ceiling is reached within
``RateController.worst_recovery()`` seconds of clean responses.
"""

from __future__ import annotations

import math

from ._policy import AdmissionPolicy

__all__ = ["RateController"]

# A measurement needs this many accepted units and seconds between two refusals.
_MIN_UNITS = 8.0
_MIN_SPAN = 0.5
_MAX_SPAN = 30.0
# The rate after a measured cut, as a share of the measurement.
_UNDER_MEASURED = 0.95
# A gap between clean responses counts at most this long towards recovery.
_MAX_STEP = 1.0
# Beyond the peak the curve climbs at least ``1 - decrease`` (and never less than this
# share) of the peak in the first ``recovery`` seconds.
_MIN_SPREAD = 0.05


class RateController:
    """The effective rate (units a second) of one limit, never above its ceiling.

    Args:
        rate: the configured rate, units a second.
        policy: ``decrease``, ``recovery`` and ``min_rate`` come from here.

    Example:
        >>> controller = RateController(10.0, AdmissionPolicy(decrease=0.5))
        >>> controller.refused(now=1.0, accepted=5.0)  # isolated: a third of the cut
        True
        >>> round(controller.rate, 2)
        8.33
        >>> controller.refused(now=2.0, accepted=6.0)  # refused again soon: the full cut
        True
        >>> round(controller.rate, 2)
        4.17
    """

    __slots__ = (
        "_clean",
        "_floor",
        "_last_clean",
        "_low",
        "_mark",
        "_peak",
        "_policy",
        "ceiling",
        "configured",
        "cut_at",
        "cuts",
        "rate",
    )

    def __init__(self, rate: float, policy: AdmissionPolicy) -> None:
        self.configured = rate
        self.ceiling = rate
        self.rate = rate
        self._policy = policy
        self._floor = rate * policy.min_rate
        self._peak = rate
        self._low = rate
        self._clean = 0.0
        self._last_clean: float | None = None
        self._mark: tuple[float, float] | None = None
        self.cut_at = -math.inf
        """When the rate was last cut (``-inf``: never)."""
        self.cuts = 0

    @property
    def recovering(self) -> bool:
        """True while the rate is below its ceiling after a cut."""
        return self.rate < self.ceiling

    def worst_recovery(self) -> float:
        """Seconds of clean responses that bring the rate from its floor to the ceiling."""
        spread = max(_MIN_SPREAD, 1.0 - self._policy.decrease)
        return self._policy.recovery * (1.0 + math.cbrt(1.0 / (self._policy.min_rate * spread)))

    def refused(self, now: float, accepted: float) -> bool:
        """A refusal admission caused, at ``now``; ``accepted`` counts every unit the
        provider accepted so far. Returns True (the rate was cut)."""
        measured = None
        if self._mark is not None:
            since, before = self._mark
            span = now - since
            units = accepted - before
            if _MIN_SPAN <= span <= _MAX_SPAN and units >= _MIN_UNITS:
                measured = units / span
        self._mark = (now, accepted)
        current = self.rate
        decrease = self._policy.decrease
        if now - self.cut_at > self._policy.recovery:
            # An isolated refusal (none for a whole recovery) says the level was off
            # or the limit moved a little, not that the rate was far too high: a third
            # of the cut. Refusals that follow it cut the full depth.
            decrease = 1.0 - (1.0 - decrease) / 3.0
        if measured is not None and measured < current:
            peak, low = measured, measured * _UNDER_MEASURED
        else:
            peak, low = current, current * decrease
        self._peak = min(self.ceiling, max(self._floor, peak))
        self._low = min(self._peak, max(self._floor, low))
        self.rate = self._low
        self._clean = 0.0
        self._last_clean = now
        self.cut_at = now
        self.cuts += 1
        return True

    def clean(self, now: float) -> bool:
        """A response came back clean at ``now``; returns True when the rate changed."""
        if self._last_clean is None:
            self._last_clean = now
            return False
        step = min(_MAX_STEP, max(0.0, now - self._last_clean))
        self._last_clean = now
        if self.rate >= self.ceiling or step <= 0:
            return False
        self._clean += step
        before = self.rate
        self.rate = self._curve(self._clean)
        return self.rate != before

    def limit_to(self, rate: float) -> bool:
        """The provider says its limit is ``rate``: lower the ceiling (never raise it above
        the configured rate). Returns True when the effective rate changed."""
        ceiling = min(self.configured, max(self._floor, rate))
        if ceiling == self.ceiling:
            return False
        self.ceiling = ceiling
        self._peak = min(self._peak, ceiling)
        self._low = min(self._low, ceiling)
        before = self.rate
        self.rate = min(self.rate, ceiling)
        if ceiling > before and self._last_clean is None:
            self.rate = ceiling  # never cut: follow the provider up to the configured rate
        return self.rate != before

    def adopt(self, rate: float, now: float) -> bool:
        """Another process sharing the limit cut it to ``rate``: follow if it is lower."""
        rate = max(self._floor, min(self.ceiling, rate))
        if rate >= self.rate:
            return False
        self._peak = max(rate, self.rate)
        self._low = rate
        self.rate = rate
        self._clean = 0.0
        self._last_clean = now
        self.cut_at = now
        return True

    def _curve(self, clean: float) -> float:
        """CUBIC: ``low`` at 0, ``peak`` after ``recovery`` for a cut of the full depth
        (``1 - decrease``) and sooner for a shallower one (CUBIC's constant: the time
        back grows as the cube root of the cut), rising faster beyond it."""
        recovery = self._policy.recovery
        share = max(_MIN_SPREAD, 1.0 - self._policy.decrease)
        peak = self._peak
        cut = peak - self._low
        spread = max(cut, share * peak)
        back = recovery if cut >= spread else recovery * math.cbrt(cut / spread)
        x = (clean - back) / recovery
        return min(self.ceiling, max(self._low, peak + spread * x * x * x))
