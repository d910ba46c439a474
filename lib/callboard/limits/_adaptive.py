"""AdaptiveLimiter: a configured limit paced smoothly, adjusted to what the provider says.

On top of the pacing (``PacedLimiter``: the configured limit as a ceiling, a local
effective bucket below it):

- **Pacing.** The effective bucket holds about one second of the rate by default
  (``AdmissionPolicy.burst``), so "N per minute" goes out as a smooth N / 60 a second
  instead of a minute's worth at once; ``pacing="burst"`` gives it the whole capacity.
- **Learning.** A refusal cuts the rate and empties the bucket; clean responses bring
  the rate back (``RateController``); a rate-limit header's ``limit`` lowers the
  ceiling of the rate, and its ``remaining`` lowers the bucket's level to what the
  provider has left, less what is still in flight and a margin (``feedback()``). A
  header never lifts admission above the smooth pace: it raises the level only by what
  this limiter held back itself (the half of the first burst kept until the provider
  first answers, reservations kept beyond the reported usage), never to a full bucket
  because the provider's counter (a minute's, while it enforces a second) has room.
- **Accounting.** A finished call's reserved tokens settle to what the provider charged
  (``settle()``), and estimates follow what it was seen to charge.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from typing import Literal

import attrs
import trio

from callboard.errors import ConfigError

from ._bucket import TokenBucket
from ._charge import TokenCharge, charged_tokens
from ._paced import PacedLimiter
from ._policy import AdmissionPolicy
from ._protocol import Limiter, SharedRate
from ._state import RateLimitState

__all__ = ["AdaptiveLimiter", "LimitSnapshot"]

# How fast, and how far, estimates follow what the provider was seen to charge.
_CALIBRATE = 0.2
_MIN_CALIBRATION = 0.05
_MAX_CALIBRATION = 4.0
_HEADROOM = 0.1
# How many scaled estimates settle() can trace back to the estimate they scaled.
_UNSCALED = 1024


@attrs.frozen(kw_only=True)
class LimitSnapshot:
    """One limit as admission sees it right now (rates in units a second).

    Attributes:
        unit: ``"requests"`` or ``"tokens"``.
        pacing: ``"smooth"`` or ``"burst"``.
        configured_rate, configured_capacity: the limit as configured.
        effective_rate, effective_burst: what admission paces at now.
        ceiling_rate: the highest rate admission will climb back to (the configured
            rate, or less when the provider's ``limit`` header said so).
        available: units the effective bucket could grant now (negative: in debt).
        paused_until: trio time before which this limit grants nothing.
        cuts: how often a refusal cut the rate.
        last_cut_at: trio time of the last cut (``None``: never).
        recovering: the rate is below its ceiling and climbing.
    """

    unit: str
    pacing: str
    configured_rate: float | None
    configured_capacity: float
    effective_rate: float | None
    effective_burst: float
    ceiling_rate: float | None
    available: float
    paused_until: float
    cuts: int
    last_cut_at: float | None
    recovering: bool


class AdaptiveLimiter(PacedLimiter):
    """Pace a configured limit smoothly and adapt it to the provider's real limit.

    ``AdaptiveLimiter(capacity, refill_period)`` configures the limit from numbers (its
    ceiling is a ``TokenBucket`` of the same figures); ``wrap()`` puts one in front of
    an existing ``Limiter``. The Executor does either for every limit it is given,
    so this is the class to build yourself only to choose a policy per limit.

    Args:
        capacity: the configured capacity (the most one request may ask for).
        refill_period: seconds for the configured bucket to refill completely.
        unit: ``"requests"`` or ``"tokens"``: which part of the provider's feedback it
            reads.
        policy: pacing, learning and pause cap ([`AdmissionPolicy`][callboard.AdmissionPolicy]).

    Raises:
        ConfigError: a number is not positive and finite, or ``unit`` is unknown.

    Example:
        >>> async def main():
        ...     limiter = AdaptiveLimiter(600, 60.0)   # 10 a second, about 1 s of burst
        ...     start = trio.current_time()            # (half of it until a first answer)
        ...     for _ in range(20):
        ...         await limiter.acquire()
        ...     return round(trio.current_time() - start, 2)
        >>> trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
        1.52
    """

    def __init__(
        self,
        capacity: float,
        refill_period: float,
        *,
        unit: Literal["requests", "tokens"] = "requests",
        policy: AdmissionPolicy = AdmissionPolicy(),  # noqa: B008 - frozen value
    ) -> None:
        self._setup(TokenBucket(capacity, refill_period, unit=unit), policy, own=True)

    @classmethod
    def wrap(
        cls,
        limiter: Limiter,
        *,
        policy: AdmissionPolicy = AdmissionPolicy(),  # noqa: B008 - frozen value
    ) -> AdaptiveLimiter:
        """An AdaptiveLimiter over ``limiter`` (returned unchanged if it is one already).

        The rate is read from the limiter's ``capacity`` and ``refill_period``; a limiter
        without ``refill_period`` is not paced (only pauses and its own waits apply).
        Unless ``policy.pacing`` says ``"smooth"``, the limiter's whole capacity may go
        at once, as it allows.
        """
        if isinstance(limiter, AdaptiveLimiter):
            return limiter
        if not isinstance(limiter, Limiter):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError(f"expected a Limiter, got {type(limiter).__name__}", field="limiter")
        adaptive = cls.__new__(cls)
        adaptive._setup(limiter, policy, own=False)
        return adaptive

    def _setup(self, ceiling: Limiter, policy: AdmissionPolicy, *, own: bool) -> None:
        self._setup_pacing(ceiling, policy, own=own)
        # Grants in flight (not answered yet), in grant order: key -> (granted before it,
        # its amount); and every grant not finished yet, for telling which cut it saw.
        self._holds: OrderedDict[object, tuple[float, float]] = OrderedDict()
        self._grants: dict[object, float] = {}
        # Units this limiter keeps out of its own bucket that a provider's header may
        # give back: half the first burst until the provider first answers (a key that
        # allows less than configured then refuses little of the first burst), and
        # reservations kept beyond the usage the provider reported.
        self._probe = 0.0
        if self._controller is not None and self.pacing == "smooth" and self._level > 1.0:
            self._probe = min(self._level / 2.0, self._level - 1.0)  # the first goes at once
            self._level -= self._probe
        self._withheld = 0.0
        self._doubt = 0.0
        if self._controller is not None:
            self._early = 0.0
        self._cut_mark = -math.inf  # what had been granted at the last cut
        # A ceiling shared by processes (Redis) shares the learned rate too.
        self._shared = ceiling if isinstance(ceiling, SharedRate) else None
        self._epoch_seen = 0
        self._shared_rate = self._rate_configured
        self._accepted = 0.0
        self._calibration = 1.0
        self._unscaled: dict[int, int] = {}  # scaled estimate -> the estimate it scaled
        self.refusals = 0
        self.last_state: RateLimitState | None = None
        """The last rate-limit state the provider reported (``None``: none yet)."""
        self._listeners: list[Callable[[str], None]] = []
        self._reported_rate = self._rate_configured

    def __repr__(self) -> str:
        return (
            f"AdaptiveLimiter(unit={self.unit!r}, configured={self._rate_configured!r}/s, "
            f"effective={self.rate!r}/s, pacing={self.pacing!r}, "
            f"waiting={len(self._waiters)})"
        )

    def observe(self, state: RateLimitState) -> None:
        """Adapt to a provider's state without knowing which request it answers.

        The level drops to the reported ``remaining`` when that is lower (never raised:
        the requests admitted since are unknown here), the ceiling of the rate follows a
        reported ``limit``, and a ``retry_after`` pauses grants for at most
        ``policy.max_pause``. A limiter underneath that is not this one's own bucket
        (a RedisLimiter) hears it too, the pause capped the same way.
        """
        self._sync(state, since=None)
        if state.retry_after is not None and state.retry_after > 0:
            self.pause(state.retry_after)
        if not self._own:
            self._ceiling.observe(self._capped(state))

    def feedback(self, state: RateLimitState, *, since: float | None) -> None:
        """A response to a request admitted here carried ``state``; ``since`` counts the
        units admitted after that request (and before it, still unanswered), which the
        provider's ``remaining`` cannot have counted yet (``None``: unknown, so the level
        may only go down, as with ``observe()``).

        Lowers the bucket's level to the provider's ``remaining`` less ``since``, half
        the provider's rounding and one typical grant, and the rate's ceiling to a
        reported ``limit``. The level goes up only by what this limiter held back
        itself (half the first burst until the provider first answers; reservations
        kept beyond the usage reported, which the provider may have refunded), so a
        header never lifts admission above the smooth pace and its burst. Pauses are
        the caller's business (the Executor pauses all admission).
        """
        self._sync(state, since=since)
        self._follow_shared()
        if not self._own:
            self._ceiling.observe(self._capped(state))

    def hold(self, key: object, n: float) -> None:
        """The grant of ``n`` just made was for ``key`` (a Calling): remember it until
        its answer (``answered()``), to know what was granted after it then, and until
        ``unhold()``, to know whether a refusal of it came before or after a cut."""
        self._holds.pop(key, None)
        self._holds[key] = (self._taken - n, n)
        self._grants[key] = self._taken - n

    def unhold(self, key: object) -> None:
        """``key``'s call finished: forget its grant. A call that finished without
        the provider refusing it releases the half of the first burst held back."""
        self._holds.pop(key, None)
        self._grants.pop(key, None)
        self._release_probe()

    def answered(self, key: object) -> float | None:
        """The provider answered ``key``'s request (a 429 too): what it cannot have
        counted then (``since(key)``), after which the grant is no longer in flight.
        A refused call waiting for its turn again is not in flight: counting everything
        granted meanwhile as unanswered would push the level ever lower."""
        since = self.since(key)
        self._holds.pop(key, None)
        return since

    def since(self, key: object) -> float | None:
        """What the provider cannot have counted when it answered ``key``'s request:
        everything granted after the oldest grant still unanswered (or after ``key``'s,
        if older), less ``key``'s own. ``None`` for a grant not held here."""
        held = self._holds.get(key)
        if held is None:
            return None
        oldest = next(iter(self._holds.values()))
        before = min(oldest[0], held[0])
        return max(0.0, self._taken - before - held[1])

    def listen(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(reason)`` whenever the effective rate changes noticeably:
        ``"cut"``, ``"limit"`` (a header stated a lower limit), ``"recovering"`` (up a
        tenth), ``"recovered"`` (back at its ceiling), ``"shared"`` (another process cut
        it). Every Executor using this limiter listens, to publish an event."""
        self._listeners.append(listener)

    def clean(self) -> None:
        """A response to a request admitted here came back clean (not refused): the
        half of the first burst held back until then is released."""
        controller = self._controller
        if controller is not None:
            now = trio.current_time()
            self._refill(now)
            self._release_probe()
            self._follow_shared()
            before = controller.rate
            if controller.clean(now) and before < controller.ceiling <= controller.rate:
                self._changed("recovered")
            elif controller.rate >= 1.1 * (self._reported_rate or 0.0):
                self._changed("recovering")
            shared, configured = self._shared, self._rate_configured
            last = self._shared_rate or 0.0
            if shared is not None and configured and controller.rate > 1.05 * last:
                shared.share_raise(controller.rate / configured)
                self._shared_rate = controller.rate

    def _answered_first(self) -> None:
        """The provider answered for the first time: what the bucket refilled since the
        first grant may not be in the provider's bucket, which started when that grant
        arrived (later, on a slow first connection); take it back."""
        early = self._early
        if early is not None:
            self._refill(trio.current_time())
            self._level -= early
            self._early = None

    def _release_probe(self) -> None:
        self._answered_first()
        if self._probe > 0:
            self._refill(trio.current_time())
            self._level = min(self.burst, self._level + self._probe)
            self._probe = 0.0
            self._wake_head()

    def _follow_shared(self) -> None:
        """Another process on a shared ceiling cut the rate: follow it down."""
        shared, controller, configured = self._shared, self._controller, self._rate_configured
        if shared is None or controller is None or not configured:
            return
        epoch = shared.shared_epoch
        if epoch == self._epoch_seen:
            return
        self._epoch_seen = epoch
        rate = shared.shared_share * configured
        if controller.adopt(rate, trio.current_time()):
            self._shared_rate = controller.rate
            self._level = min(self._level, self.burst)
            self._changed("shared")

    def accepted(self, n: float) -> None:
        """The provider accepted ``n`` units (a clean response), for measuring its rate."""
        self._accepted += n

    def refused(self, key: object | None = None) -> bool:
        """The provider refused a request admitted here (for ``key``) for this limit: its
        bucket is empty. Empties the effective bucket and cuts the rate, unless the
        request was granted before the last cut (the same overload refused it, and that
        cut answered it already). Returns True if the rate was cut."""
        self.refusals += 1
        controller = self._controller
        if controller is None:
            return False  # learn=False: the configured pace, whatever the provider says
        # The provider's bucket is empty: nothing held back comes back.
        self._probe = self._withheld = self._doubt = 0.0
        granted = self._grants.get(key) if key is not None else None
        if granted is not None and granted < self._cut_mark:
            return False
        self._cut_mark = self._taken
        self._answered_first()
        self._follow_shared()
        now = trio.current_time()
        self._refill(now)
        self._level = min(self._level, 0.0)
        controller.refused(now, self._accepted)
        self._level = min(self._level, self.burst)
        self._changed("cut")
        shared = self._shared
        if shared is not None and self._rate_configured:
            shared.share_cut(controller.rate / self._rate_configured)
            self._shared_rate = controller.rate
        return True

    def scale(self, estimate: int) -> int:
        """``estimate`` corrected by what the provider was seen to charge for estimates
        like it (never below the estimate when the accounting is ``"reserved"``)."""
        factor = self._calibration
        if estimate <= 0:
            return estimate
        if factor < 1.0:
            factor = min(1.0, factor * (1.0 + _HEADROOM))  # an average: keep some above it
        scaled = estimate if factor == 1.0 else max(1, math.ceil(estimate * factor))
        # settle() learns from the estimate before scaling: the calibration may have
        # moved while the call ran, and reading it back through the current one would
        # feed every correction in flight back into it (it swung between its bounds).
        if len(self._unscaled) >= _UNSCALED:
            self._unscaled.clear()
        self._unscaled[scaled] = estimate
        return scaled

    def settle(
        self,
        reserved: float,
        *,
        estimate: float,
        actual: int | None,
        charge: TokenCharge | None,
    ) -> None:
        """Settle ``reserved`` tokens of a finished call with what the provider charged,
        under ``policy.token_accounting`` (refund or debit; nothing known: keep)."""
        charged = charged_tokens(
            self.policy.token_accounting, estimate=estimate, actual=actual, charge=charge
        )
        if charged is None:
            return
        if charge is not None and estimate > 0 and charged > 0:
            unscaled = self._unscaled.get(round(estimate))
            ratio = charged / (unscaled or estimate) * (1.0 if unscaled else self._calibration)
            low = 1.0 if self.policy.token_accounting == "reserved" else _MIN_CALIBRATION
            ratio = min(_MAX_CALIBRATION, max(low, ratio))
            self._calibration += _CALIBRATE * (ratio - self._calibration)
        if actual is not None and charged > actual:
            # Kept beyond the reported usage: a header may show the provider gave it back.
            self._withheld = min(self.burst, self._withheld + charged - actual)
        difference = charged - reserved
        if difference < 0:
            self.refund(-difference)
        elif difference > 0:
            self.debit(difference)

    @property
    def calibration(self) -> float:
        """The factor estimates are scaled by (see ``scale()``)."""
        return self._calibration

    def snapshot(self) -> LimitSnapshot:
        """The limit's configured and effective figures now (needs a running trio)."""
        now = trio.current_time()
        self._refill(now)
        controller = self._controller
        return LimitSnapshot(
            unit=self.unit,
            pacing=self.pacing,
            configured_rate=self._rate_configured,
            configured_capacity=self._ceiling.capacity,
            effective_rate=self.rate,
            effective_burst=self.burst,
            ceiling_rate=controller.ceiling if controller is not None else self._rate_configured,
            available=self._level,
            paused_until=self._paused_until,
            cuts=controller.cuts if controller is not None else 0,
            last_cut_at=controller.cut_at if controller is not None and controller.cuts else None,
            recovering=controller.recovering if controller is not None else False,
        )

    def _figures(self, state: RateLimitState) -> tuple[int | None, int | None]:
        """(limit, remaining) of the provider's limit that counts what this one counts."""
        if self.unit == "requests":
            return state.limit_requests, state.remaining_requests
        if self.policy.token_accounting == "input":
            if state.remaining_input_tokens is not None:
                return state.limit_input_tokens, state.remaining_input_tokens
            return state.limit_tokens, state.remaining_tokens
        if state.remaining_input_tokens is not None or state.remaining_output_tokens is not None:
            # Separate input and output limits count something else than input plus
            # output in one bucket: neither figure says how much of this one is left.
            return None, None
        return state.limit_tokens, state.remaining_tokens

    def _sync(self, state: RateLimitState, *, since: float | None) -> None:
        self.last_state = state
        requests = self.unit == "requests"
        limit, remaining = self._figures(state)
        controller = self._controller
        # Both providers state their limits per minute.
        per_second = limit / 60.0 if limit is not None and limit > 0 else None
        if per_second is not None and controller is not None:
            before = controller.rate
            if controller.limit_to(per_second):
                if controller.rate < before:
                    # Refusals of what was granted at the rate the header corrected are
                    # explained: they do not cut again.
                    self._cut_mark = self._taken
                self._changed("limit")
        if remaining is None:
            return
        self._answered_first()
        self._refill(trio.current_time())
        rounding = 1 if requests else state.tokens_rounding
        target = float(remaining) - (rounding - 1) / 2.0
        if since is None:
            self._level = min(self._level, target)
            return
        target = min(self.burst, target - since - self._typical)
        level = self._level
        if target < level:
            self._level = target
            # What only the grants still in flight explain (the provider may have counted
            # them already): a later answer that shows it did gives it back.
            self._doubt = min(self.burst, self._doubt + min(since, level - target))
        else:
            # Room in the provider's counter is no reason to go faster than the pace
            # (it may count a minute while it enforces a second): only what this limiter
            # held back or doubted itself comes back.
            own = self._probe + self._withheld
            rise = min(target - level, own + self._doubt)
            self._level = level + rise
            self._doubt -= max(0.0, rise - own)
            self._wake_head()
        self._probe = self._withheld = 0.0

    def _capped(self, state: RateLimitState) -> RateLimitState:
        cap = self.policy.max_pause
        if state.retry_after is not None and state.retry_after > cap:
            return attrs.evolve(state, retry_after=cap)
        return state

    def _changed(self, reason: str) -> None:
        self._reported_rate = self.rate
        for listener in self._listeners:
            listener(reason)
