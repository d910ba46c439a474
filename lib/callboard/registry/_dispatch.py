"""How a Router carries one call to its end: pick a deployment, attempt it, hand the call
on when that deployment cannot serve it, and fall back when every deployment failed.

One attempt at a time: an attempt is a Calling of the deployment's own, made from the
routed call's payload with what is left of its deadline, so the call is never in flight
on two deployments at once and never outlives its timeout. A streamed call forwards
each attempt's chunks; once one reached the reader, a failure is the call's own (a
second deployment would repeat the text).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import trio

from callboard.actors import LifecycleEvent
from callboard.calling import Calling, CallingFailed, CallingTimeoutError, estimate_tokens
from callboard.errors import CallboardError
from callboard.imodel._outcome import outcome
from callboard.providers import StreamDelta
from callboard.resilience import CircuitOpen

from ._deployment import Deployment
from ._events import CallingRouted, DeploymentCooling, DeploymentRecovered
from ._failover import Verdict, fallback_kind, verdict
from ._router_tree import RouterTree
from ._strategies import RoutingStrategy

if TYPE_CHECKING:
    from callboard.imodel import iModel

    from ._router import Router

__all__ = ["Dispatch"]

_NO_SCOPE = contextlib.nullcontext()


class Dispatch:
    """The routing of a Router's calls (one object per Router, shared by its calls)."""

    __slots__ = (
        "_listening",
        "_publish",
        "_tree",
        "attempts",
        "counts_tokens",
        "deployments",
        "fallback_on",
        "fallbacks",
        "name",
        "strategy",
    )

    def __init__(
        self,
        name: str,
        *,
        deployments: Sequence[Deployment],
        strategy: RoutingStrategy,
        fallbacks: Sequence[iModel | Router],
        fallback_on: Mapping[str, Sequence[iModel | Router]],
        tree: RouterTree,
        publish: Callable[[LifecycleEvent], None],
        listening: Callable[[], bool],
    ) -> None:
        self.name = name
        self.deployments = tuple(deployments)
        # the strategy weighs tokens only where some deployment has a token limit
        self.counts_tokens = any(d.model.limit_tokens is not None for d in self.deployments)
        self.strategy = strategy
        self.fallbacks = tuple(fallbacks)
        self.fallback_on = {kind: tuple(targets) for kind, targets in fallback_on.items()}
        self._tree = tree
        self._publish = publish
        self._listening = listening
        # routed Calling -> its attempt in flight, and the scope that attempt runs in
        self.attempts: dict[Calling, tuple[Calling, trio.CancelScope | None]] = {}

    async def direct(
        self,
        deployment: Deployment,
        arguments: dict[str, Any],
        poll_timeout: float | None,
        routed: Callable[[dict[str, Any], float | None, float], Calling],
    ) -> Calling:
        """Run a call nobody holds yet (``invoke(**request)``), its first attempt on a
        Calling of ``deployment``'s own: when that deployment serves it, that Calling is
        the one the caller gets, and routing cost no second Calling, no event and no
        clock read. When it cannot, ``routed(arguments, poll_timeout, start)``
        builds the Router's Calling, which carries the call on from the same start (its
        deadline counts from there), as ``route`` would have.

        Only for a Router without hooks and without listeners: its events would name
        the attempt's Calling, not the Router's.
        """
        model = deployment.model
        probe = deployment.begin()
        try:
            if probe:
                await self._tree.wake(model)
            attempt = await model.create_calling(**arguments)
        except BaseException:
            deployment.released()  # a bad request, refused before it existed; a cancel
            raise
        attempt.tried = (model.name,)
        try:
            await model.invoke(calling=attempt, poll_timeout=poll_timeout)
        except CallboardError as error:
            judged = verdict(error)
            kind = fallback_kind(error) if judged is Verdict.STOP else None
            if judged is Verdict.STOP and kind not in self.fallback_on:
                deployment.released()
                raise  # the call's own end; error.calling is the attempt
            self._judged(deployment, error, judged)
            assert attempt.created_at is not None
            calling = routed(arguments, poll_timeout, attempt.created_at)
            calling.tried = attempt.tried
            return await self.carry(calling, tried=[model.name], error=error, kind=kind)
        except BaseException:
            deployment.released()
            raise
        # The attempt's own timestamps time it: no clock read of the Router's.
        assert attempt.created_at is not None and attempt.finished_at is not None
        deployment.succeeded(attempt.finished_at - attempt.created_at)
        if probe:
            self._publish(DeploymentRecovered(router=self.name, deployment=deployment.name))
        if attempt.deployment is None:
            attempt.deployment = model.name
        return attempt

    def pick(self, arguments: dict[str, Any]) -> Deployment | None:
        """The deployment a new call's first attempt goes to; ``None`` when every one
        is resting."""
        deployments = self.deployments
        if len(deployments) == 1:
            return deployments[0] if deployments[0].available() else None
        candidates = [d for d in deployments if d.available()]
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        tokens = estimate_tokens(arguments) if self.counts_tokens else 0
        return self.strategy.choose(candidates, tokens)

    async def carry(
        self,
        calling: Calling,
        *,
        tried: list[str] | None = None,
        error: BaseException | None = None,
        kind: str | None = None,
    ) -> Calling:
        """Route ``calling`` (queued, owned by the Router) to its end, or to the
        fallbacks for ``kind`` of refusal; return it completed or raise its error. A
        caller who leaves (cancelled) cancels it."""
        try:
            if kind is None:
                await self.route(calling, tried=tried, error=error)
            else:
                assert error is not None
                await self._fall_back(calling, self.fallback_on[kind], tried or [], error)
        except BaseException:
            if not calling.finished:
                calling.attach(None)
                calling.cancel()
            raise
        return outcome(calling)

    async def route(
        self,
        calling: Calling,
        *,
        tried: list[str] | None = None,
        error: BaseException | None = None,
    ) -> None:
        """Carry ``calling`` (queued, owned by the Router) to its end; ``tried`` names
        the deployments an earlier attempt already failed on (``error`` its error)."""
        tried = [] if tried is None else tried
        untried = [d for d in self.deployments if d.name not in tried]
        while untried and not calling.finished:
            candidates = [d for d in untried if d.available()]
            if not candidates:
                break  # every deployment left is resting
            deployment = (
                candidates[0]
                if len(candidates) == 1
                else self.strategy.choose(candidates, calling.estimated_tokens)
            )
            untried.remove(deployment)
            error = await self._attempt(calling, deployment, tried)
            if error is None:
                return
            if verdict(error) is Verdict.STOP:
                kind = fallback_kind(error)
                if kind is not None and kind in self.fallback_on:
                    await self._fall_back(calling, self.fallback_on[kind], tried, error)
                else:
                    self.fail(calling, error)
                return
        if calling.finished:
            return
        if error is None:
            error = CircuitOpen(
                f"router {self.name!r}: every deployment is resting after failures; "
                "retry later, or give the Router fallbacks",
                calling_id=calling.id,
            )
        await self._fall_back(calling, self.fallbacks, tried, error)

    async def _fall_back(
        self,
        calling: Calling,
        targets: Sequence[iModel | Router],
        tried: list[str],
        error: BaseException,
    ) -> None:
        """Try ``targets`` in order until one serves the call; else fail it with the
        last error."""
        for target in targets:
            if calling.finished:
                return
            outcome = await self._attempt_target(calling, target, tried, fallback=True)
            if outcome is None:
                return
            error = outcome
            if verdict(error) is Verdict.STOP:
                break
        self.fail(calling, error)

    async def _attempt(
        self, calling: Calling, deployment: Deployment, tried: list[str]
    ) -> BaseException | None:
        """One attempt on ``deployment``; ``None`` when it served the call."""
        probe = deployment.begin()
        started = trio.current_time()
        try:
            if probe:
                await self._tree.wake(deployment.model)
            error = await self._attempt_target(calling, deployment.model, tried, fallback=False)
        except BaseException:
            deployment.released()
            raise
        if error is None:
            deployment.succeeded(trio.current_time() - started)
            if probe:
                self._publish(DeploymentRecovered(router=self.name, deployment=deployment.name))
            return None
        self._judged(deployment, error, verdict(error))
        return error

    def _judged(self, deployment: Deployment, error: BaseException, judged: Verdict) -> None:
        """Settle ``deployment``'s health after an attempt failed with ``error``."""
        if judged is Verdict.STOP:
            deployment.released()
        elif deployment.failed(
            at_once=judged is Verdict.ANOTHER_AND_REST,
            retry_after=getattr(error, "retry_after", None),
        ):
            self._publish(
                DeploymentCooling(
                    router=self.name,
                    deployment=deployment.name,
                    until=deployment.cool_until,
                    error=type(error).__name__,
                )
            )

    async def _attempt_target(
        self, calling: Calling, target: iModel | Router, tried: list[str], *, fallback: bool
    ) -> BaseException | None:
        """Run one attempt of ``calling`` on ``target``; ``None`` when it completed it,
        else the attempt's error (``calling`` is then still running, or failed when its
        deadline passed or a streamed chunk already reached the reader)."""
        timeout: float | None = None
        if calling.timeout is not None:
            timeout = calling.deadline - trio.current_time()
            if timeout <= 0:
                self.fail(calling, CallingTimeoutError(calling.id, calling.timeout))
                return calling.error
        tried.append(target.name)
        calling.tried = tuple(tried)
        if self._listening():  # no event built for nobody: it costs on every call
            self._publish(
                CallingRouted(
                    router=self.name,
                    calling_id=calling.id,
                    deployment=target.name,
                    attempt=len(tried),
                    fallback=fallback,
                )
            )
        attempt = await target.create_calling(
            timeout=timeout, streaming=calling.streaming, **calling.payload
        )
        # A started target's attempt is cancelled through its Executor; an inline one
        # runs right here, in a scope cancel() can reach (a scope costs ~10 us a call).
        scope = None if target.is_started else trio.CancelScope()
        self.attempts[calling] = (attempt, scope)
        state = _Forward()
        try:
            with scope if scope is not None else _NO_SCOPE:
                if calling.stream_sink is None:
                    await target.invoke(calling=attempt)
                else:
                    await _streamed(target, attempt, calling.stream_sink, state)
        except CallboardError as error:
            if isinstance(error, CallingTimeoutError) and calling.timeout is not None:
                error = CallingTimeoutError(calling.id, calling.timeout)
            if state.forwarded or isinstance(error, CallingTimeoutError):
                self.fail(calling, error)  # text reached the reader, or time is up
            return error
        finally:
            self.attempts.pop(calling, None)
        if calling.finished:  # cancelled while the attempt ran
            return calling.error
        calling.mark_running()
        calling.deployment = attempt.deployment or target.name
        calling.actual_tokens = attempt.actual_tokens
        calling.attach(None)
        calling.complete(attempt.response)
        return None

    def cancel(self, calling: Calling) -> None:
        """Cancel a routed call: its attempt in flight, then the call itself."""
        running = self.attempts.get(calling)
        if running is not None:
            attempt, scope = running
            if scope is not None:
                scope.cancel()
            if not attempt.finished:
                attempt.cancel()
        if not calling.finished:
            calling.attach(None)
            calling.cancel()

    def fail(self, calling: Calling, error: BaseException) -> None:
        """Finish ``calling`` as failed with ``error`` (once)."""
        if calling.finished:
            return
        calling.attach(None)
        calling.fail(error)
        self._publish(CallingFailed(executor=self.name, calling_id=calling.id, error=repr(error)))


class _Forward:
    """Whether a streamed attempt's chunks reached the reader."""

    __slots__ = ("forwarded",)

    def __init__(self) -> None:
        self.forwarded = False


async def _streamed(
    target: iModel | Router,
    attempt: Calling,
    sink: trio.MemorySendChannel[StreamDelta],
    state: _Forward,
) -> None:
    """Run a streamed attempt, forwarding its deltas to ``sink`` (the routed call's);
    raises the attempt's error as ``invoke`` does."""
    send, receive = trio.open_memory_channel[StreamDelta](0)
    attempt.stream_sink = send
    failure: CallboardError | None = None

    async def forward() -> None:
        async with receive:
            async for delta in receive:
                state.forwarded = True
                await sink.send(delta)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(forward)
        try:
            await target.invoke(calling=attempt)
        except CallboardError as error:
            failure = error  # raised below, outside the nursery (no ExceptionGroup)
        finally:
            send.close()  # the attempt's end closes it too; an early error may not
    if failure is not None:
        raise failure
