"""How provider feedback reaches an Executor's admission: headers, 429s, retries.

An Endpoint tells its Executor about every response (``feedback()``),
sends a call the provider refused for rate back to admission
(``requeue()``) and passes admission again for every retry
(``readmit()``). Kept apart from the actor's admission loop: this is
the half of the Executor that listens to the provider.
"""

from __future__ import annotations

from typing import Any

import trio

from callboard.calling import Calling
from callboard.limits import AdaptiveLimiter, RateLimitState
from callboard.resilience import ProviderError

from ._admission import Admission
from ._events import AdmissionChanged, CallingRequeued
from ._transitions import Transitions
from ._workers import Workers

__all__ = ["ProviderFeedback"]


class ProviderFeedback:
    """The Executor's methods for provider feedback (a mixin of ``Executor``)."""

    _admission: Admission
    _report: Transitions
    _workers: Workers

    def observe(self, state: RateLimitState) -> None:
        """Feed a provider's rate-limit state for no particular Calling back: lower the
        buckets, honour retry-after (at most ``admission_policy.max_pause``)."""
        self._admission.observe(state)

    def feedback(self, state: RateLimitState | None, *, status: int, calling: Calling) -> None:
        """A response to ``calling`` arrived: HTTP ``status`` and, when it carried any,
        the rate-limit ``state`` parsed from its headers.

        An Endpoint calls this for every response, 429s included. Headers correct the
        buckets (less what was admitted since that request) and pause admission for a
        ``retry-after`` or an exhausted limit (capped); a 2xx lets the rates climb back.
        """
        self._admission.feedback(calling, state, status)

    def pause(self, seconds: float) -> None:
        """Admit nothing for ``seconds`` from now (extends, never shortens, a pause; at
        most ``admission_policy.max_pause``)."""
        self._admission.pause(seconds)

    async def requeue(
        self, calling: Calling, error: ProviderError, *, min_wait: float = 0.0
    ) -> None:
        """The provider refused a running ``calling`` for rate (a 429): send it back to
        its place, ahead of the Callings queued after it, and return when it is admitted
        again (its concurrency slot is kept). The refusal cuts the limit it hit.

        The refusal is the call's failure only when waiting cannot help: the provider
        says the quota is gone (``insufficient_quota``, ``x-should-retry: false``), it
        asks for a wait beyond ``admission_policy.max_pause``, or the wait is longer
        than the call's remaining time. Then ``error`` is raised, with a note saying why.
        If this raises ``Cancelled`` nothing was taken.

        Args:
            calling: the Calling the provider refused.
            error: the 429, with the provider's ``retry_after`` when it gave one.
            min_wait: the shortest pause a ``retry-after`` imposes (``retry-after: 0``
                included): the Endpoint's ``RetryPolicy.min_retry_after``.

        Raises:
            ProviderError: ``error``, when the call must fail with it.
        """
        admission = self._admission
        refusal = admission.refused(calling, error, min_wait=min_wait)
        if refusal.final:
            error.add_note(f"not retried: {refusal.why}")
            raise error
        if self._report.listening():
            self._report.publish(
                CallingRequeued(
                    executor=self._report.name,
                    calling_id=calling.id,
                    wait=refusal.wait,
                    limited_by=refusal.limited_by,
                )
            )
        until = trio.current_time() + refusal.wait
        if until > admission.paused_until:
            await trio.sleep_until(until)  # a floor beyond the pause: this call's alone
        await self._readmit(calling)

    async def readmit(self, calling: Calling | None = None) -> None:
        """Pass admission again for a retry of a Calling that is already running.

        The retry keeps the concurrency slot of its first attempt; it waits out a pause
        and takes one more request and, for ``calling``, its estimated tokens again, so
        retries count against the provider's request and token rates like any other
        request. Retries and refused calls are admitted in the order their Callings were
        first admitted, before any Calling still queued. Every reservation is reconciled
        once when the Calling finishes (an attempt the provider refused used nothing).
        If this raises ``Cancelled`` nothing was taken.

        Args:
            calling: the running Calling being retried; without it only a request is
                taken.

        Raises:
            OversizeRequest: a shared token limiter cannot ever grant the estimate.
        """
        if calling is None:
            admission = self._admission
            if admission.requests is None:
                await trio.lowlevel.checkpoint()
                return
            await admission.reserve(0)
            return
        await self._readmit(calling)

    async def _readmit(self, calling: Calling) -> None:
        admission = self._admission
        workers = self._workers
        tokens = 0
        if admission.tokens is not None and workers.running(calling):
            tokens = calling.estimated_tokens
        if admission.requests is None and tokens <= 0:
            await admission.wait_unpaused()
            await trio.lowlevel.checkpoint()
            return
        await admission.readmit(calling, tokens)
        if tokens > 0:
            workers.reserved_more(calling, tokens)

    def _limit_changed(self, adaptive: AdaptiveLimiter) -> Any:
        def changed(reason: str) -> None:
            if self._report.listening():
                self._report.publish(
                    AdmissionChanged(
                        executor=self._report.name,
                        unit=adaptive.unit,
                        reason=reason,
                        configured_rate=adaptive.snapshot().configured_rate,
                        effective_rate=adaptive.rate,
                        effective_burst=adaptive.burst,
                    )
                )

        return changed
