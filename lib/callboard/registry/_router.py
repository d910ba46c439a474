"""Router: one model name over many deployments, balanced by live headroom, with
fallbacks.

Teams put several deployments of one model behind one name: keys of one organization,
regions, an OpenAI and an Azure key, a local vLLM. A Router picks a deployment for each
call (by default the one whose admission can start it soonest), moves a call its
deployment cannot serve to another one, rests deployments that keep failing, and when
every deployment failed, or the provider refused the call for a named reason, tries its
fallbacks in order.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from types import TracebackType
from typing import Any, Self

import trio

from callboard.actors import Broadcast, LifecycleEvent, Supervisor
from callboard.calling import (
    Calling,
    CallingStateError,
    CallingStatus,
    estimate_tokens,
)
from callboard.calling._calling import check_timeout
from callboard.errors import ConfigError
from callboard.imodel import HookAborted, HookRegistry, iModel
from callboard.imodel._hooks import HookPhase, intercept
from callboard.imodel._outcome import outcome
from callboard.providers import StreamDelta

from ._deployment import Deployment
from ._dispatch import Dispatch
from ._router_config import (
    check_deployments,
    check_fallbacks,
    check_settings,
    check_weights,
    from_config,
    reaches,
    to_config,
)
from ._router_tree import RouterTree
from ._strategies import RoutingStrategy, strategy_named

__all__ = ["Router"]


class Router:
    """One name over several deployments of a model, with failover and fallbacks.

    ``async with router:`` starts every deployment (and every fallback) under one
    one_for_one Supervisor, each as a subtree of its own: a deployment whose tree gives
    up stops alone, rests, and is started again by the probe that ends its rest. Outside
    the block the deployments run inline, as an unstarted iModel does.

    Each call goes to the deployment the strategy picks among those not resting. When
    its deployment cannot serve it (rate limited beyond the call's deadline, overloaded,
    a server error, no connection, an open circuit, a stopped tree, a refused key) it
    moves to another one: one attempt at a time, so it is never in flight on two, and
    within the call's own timeout. The finished Calling says which deployment served it
    (``calling.deployment``) and which were tried (``calling.tried``).

    Args:
        name: the model name callers use (and a ServiceRegistry registers).
        deployments: the iModels serving it; their names must differ, and they must
            serve one model type (all chat, say, not chat and embeddings).
        strategy: ``"headroom"`` (default), ``"least_busy"``, ``"latency"``,
            ``"round_robin"``, ``"weighted"``, or your own ``RoutingStrategy``.
        weights: one weight per deployment, for ``"weighted"``.
        fallbacks: iModels or Routers tried in order when every deployment failed a call
            retryably (or was resting).
        fallback_on: fallbacks for one kind of refusal, by kind: ``"context_window"``
            (the prompt does not fit: a longer-context model) or ``"content_filter"``
            (the provider's filter refused it: another provider).
        tags: tags for ``ServiceRegistry.list_by_tag``.
        hook_registry: PreEventCreate hooks run on the Router's Calling (each
            deployment's own hooks run on its attempt).
        cooldown: seconds a failing deployment first rests (doubling while it keeps
            failing, up to ``max_cooldown``; at least a 429's retry-after).
        max_cooldown: the longest rest.
        failures_to_cool: retryable failures in a row that rest a deployment (one is
            enough when its server is unreachable, its circuit open or its tree stopped).

    Raises:
        ConfigError: no deployments, duplicate names, mixed model types, a fallback
            cycle, an unknown strategy or fallback kind, or weights that do not fit.

    Example::

        router = Router("gpt-4o-mini", [us_east, eu_west], fallbacks=[claude])
        async with router:
            calling = await router.invoke(messages=[{"role": "user", "content": "hi"}])
            print(calling.deployment, calling.response.text)
    """

    def __init__(
        self,
        name: str,
        deployments: Sequence[iModel],
        *,
        strategy: str | RoutingStrategy = "headroom",
        weights: Sequence[float] | None = None,
        fallbacks: Sequence[iModel | Router] = (),
        fallback_on: Mapping[str, Sequence[iModel | Router]] | None = None,
        tags: Sequence[str] = (),
        hook_registry: HookRegistry | None = None,
        cooldown: float = 1.0,
        max_cooldown: float = 30.0,
        failures_to_cool: int = 3,
    ) -> None:
        if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError(
                "a Router needs a name, e.g. Router('gpt-4o-mini', [...])", field="name"
            )
        models = check_deployments(list(deployments))
        checked_weights = check_weights(weights, len(models))
        check_settings(cooldown, max_cooldown, failures_to_cool)
        self.name = name
        self.id = uuid.uuid4().hex
        self.tags: frozenset[str] = frozenset(tags)
        self.version: str | None = None
        self.strategy: RoutingStrategy = strategy_named(strategy)
        self.deployments: tuple[Deployment, ...] = tuple(
            Deployment(
                model,
                weight=weight,
                cooldown=cooldown,
                max_cooldown=max_cooldown,
                failures_to_cool=failures_to_cool,
            )
            for model, weight in zip(models, checked_weights, strict=True)
        )
        targets = dict(fallback_on or {})
        check_fallbacks(self, list(fallbacks), targets)
        self.fallbacks: tuple[iModel | Router, ...] = tuple(fallbacks)
        self.fallback_on: dict[str, tuple[iModel | Router, ...]] = {
            kind: tuple(items) for kind, items in targets.items()
        }
        self.settings = (float(cooldown), float(max_cooldown), failures_to_cool)
        self.hook_registry = hook_registry
        self.broadcast: Broadcast[LifecycleEvent] = Broadcast(1024)
        self._tree = RouterTree(name, self._children(), self.broadcast)
        self._dispatch = Dispatch(
            name,
            deployments=self.deployments,
            strategy=self.strategy,
            fallbacks=self.fallbacks,
            fallback_on=self.fallback_on,
            tree=self._tree,
            publish=self._publish,
            listening=self._listening,
        )

    def __repr__(self) -> str:
        names = ", ".join(d.name for d in self.deployments)
        return f"<Router {self.name!r} [{names}] {self.strategy.name}>"

    def reaches(self, other: Router) -> bool:
        """True when ``other`` is this Router or among its fallbacks, at any depth."""
        return reaches(self, other)

    def deployment(self, name: str) -> Deployment:
        """The deployment named ``name``.

        Raises:
            KeyError: no deployment has that name.
        """
        for deployment in self.deployments:
            if deployment.name == name:
                return deployment
        raise KeyError(name)

    # -- the actor tree ------------------------------------------------------------------

    def _children(self) -> list[iModel | Router]:
        seen: set[int] = set()
        children: list[iModel | Router] = []
        for target in (
            [d.model for d in self.deployments]
            + [*self.fallbacks]
            + [t for ts in self.fallback_on.values() for t in ts]
        ):
            if id(target) not in seen:
                seen.add(id(target))
                children.append(target)
        return children

    @property
    def is_started(self) -> bool:
        """True while the Router's supervisor runs its deployments."""
        return self._tree.supervisor is not None

    @property
    def supervisor(self) -> Supervisor | None:
        """The supervisor of the running deployments; ``None`` when not started."""
        return self._tree.supervisor

    async def run(self, *, task_status: trio.TaskStatus[Router] = trio.TASK_STATUS_IGNORED) -> None:
        """Run every deployment and fallback under one supervisor until ``stop()``
        (a supervisor's child, e.g. in a ServiceRegistry).

        Raises:
            CallboardError: the Router is running already.
        """
        await self._tree.run(self, task_status)

    async def stop(self) -> None:
        """Stop every deployment (each drains its hook actors), then the supervisor.
        Idempotent."""
        await self._tree.stop()

    async def __aenter__(self) -> Self:
        await self._tree.enter(self)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._tree.exit(exc)

    def _listening(self) -> bool:
        return self.broadcast.subscriber_count > 0

    def _publish(self, event: LifecycleEvent) -> None:
        if self.broadcast.subscriber_count and not self.broadcast.closed:
            self.broadcast.publish(event)

    # -- calls ---------------------------------------------------------------------------

    async def create_calling(
        self,
        timeout: float | None = None,  # noqa: ASYNC109 - the Calling's timeout
        streaming: bool = False,
        **arguments: Any,
    ) -> Calling:
        """A Calling for ``arguments`` (the request, as for ``iModel.create_calling``),
        after the Router's PreEventCreate hooks; the Router owns it until it finishes."""
        if timeout is not None:
            check_timeout(timeout)
        calling = Calling(arguments, timeout=timeout, streaming=streaming)
        if self._dispatch.counts_tokens:  # headroom weighs tokens only where a token limit is
            calling.estimated_tokens = estimate_tokens(arguments)
        registry = self.hook_registry
        if registry is None:
            return calling  # no checkpoint: the call's first attempt has its own
        try:
            await intercept(
                registry, HookPhase.PreEventCreate, calling, None, model=self.name, emit=self._emit
            )
        except HookAborted as aborted:
            calling.abort(aborted.reason, error=aborted)
        return calling

    async def _emit(self, event: LifecycleEvent) -> None:
        self._publish(event)
        await trio.lowlevel.checkpoint()

    async def invoke(
        self,
        calling: Calling | None = None,
        poll_timeout: float | None = None,
        **arguments: Any,
    ) -> Calling:
        """Route a call to its end and return the finished Calling
        (``calling.response`` holds the answer, ``calling.deployment`` who gave it).

        Args:
            calling: one made by ``create_calling()``; ``arguments`` are then ignored.
            poll_timeout: an overall deadline in seconds (lowers the Calling's timeout).
            **arguments: the request, for ``create_calling()``.

        Raises:
            CallboardError: the typed error of the call's last attempt (with
                ``error.calling``), or CallingTimeoutError when its timeout ran out.
        """
        if calling is None:
            if self.hook_registry is None and not self.broadcast.subscriber_count:
                deployment = self._dispatch.pick(arguments)
                if deployment is not None:  # nobody holds the call: start it there
                    check_timeout(poll_timeout, "poll_timeout")
                    return await self._dispatch.direct(
                        deployment, arguments, poll_timeout, self._continued
                    )
            calling = await self.create_calling(**arguments)
        if calling.status is CallingStatus.ABORTED:
            return outcome(calling)  # a PreEventCreate hook refused it
        if poll_timeout is not None:
            check_timeout(poll_timeout)
            if calling.timeout is None or poll_timeout < calling.timeout:
                calling.timeout = poll_timeout
        self._take(calling)
        return await self._dispatch.carry(calling)

    def _continued(
        self, arguments: dict[str, Any], poll_timeout: float | None, start: float
    ) -> Calling:
        """The Router's Calling for a call whose first attempt, started at ``start`` on
        a Calling of its deployment's own, failed over: queued since ``start``."""
        request = dict(arguments)
        timeout = request.pop("timeout", None)
        streaming = bool(request.pop("streaming", False))
        if poll_timeout is not None and (timeout is None or poll_timeout < timeout):
            timeout = poll_timeout
        calling = Calling(request, timeout=timeout, streaming=streaming)
        if self._dispatch.counts_tokens:
            calling.estimated_tokens = estimate_tokens(request)
        self._take(calling)
        calling.created_at = calling.queued_at = start
        if timeout is not None:
            calling.deadline = start + timeout
        return calling

    def _take(self, calling: Calling) -> None:
        if calling.status is not CallingStatus.PENDING:
            raise CallingStateError(
                f"calling {calling.id} is {calling.status.value}; only a pending calling "
                "can be routed (create a new Calling to call again)",
                calling_id=calling.id,
            )
        calling.mark_queued()
        if calling.timeout is not None:
            assert calling.queued_at is not None
            calling.deadline = calling.queued_at + calling.timeout
        calling.attach(self)

    def cancel_calling(self, calling: Calling) -> None:
        """Cancel a routed call (``calling.cancel()`` lands here): its attempt in flight
        is cancelled and the call finishes as cancelled."""
        self._dispatch.cancel(calling)

    async def invoke_stream(
        self, calling: Calling | None = None, **arguments: Any
    ) -> AsyncGenerator[str]:
        """Stream a routed call: yield its text chunks as they arrive, then raise its
        error if it failed (as ``invoke()``).

        A deployment that fails before its first chunk hands the call on as
        ``invoke()`` does; once text was yielded, a failure is the call's (another
        deployment would repeat it).
        """
        if calling is None:
            calling = await self.create_calling(streaming=True, **arguments)
        calling.streaming = True
        if calling.status is CallingStatus.ABORTED:
            outcome(calling)
            return
        send, receive = trio.open_memory_channel[StreamDelta](64)
        calling.stream_sink = send
        failure: BaseException | None = None

        async def run() -> None:
            nonlocal failure
            try:
                await self.invoke(calling)
            except Exception as error:
                failure = error
            finally:
                send.close()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run)
            try:
                async with receive:
                    async for delta in receive:
                        if delta.text and delta.choice == 0:
                            yield delta.text
            finally:
                if not calling.finished:  # the reader left early: cancel the call
                    self.cancel_calling(calling)
        if failure is not None:
            raise failure

    # -- registry support ----------------------------------------------------------------

    def tool_schema(self) -> dict[str, Any] | None:
        """A Router routes model calls, not a tool: ``None``."""
        return None

    # -- serialization -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """This Router's configuration as JSON-safe data: its settings and each
        deployment's and fallback's own ``to_dict`` data (no identity, no state, no
        secret).

        Raises:
            ConfigError: its strategy is an object of your own (code, not data), or a
                deployment's data is not JSON.
        """
        return to_config(self)

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        backends: Mapping[str, Any] | None = None,
        strategy: RoutingStrategy | None = None,
    ) -> Router:
        """Rebuild a Router from ``to_dict()`` data, each model fresh.

        Args:
            data: what ``to_dict`` returned (possibly through JSON).
            backends: backends by model name, for deployments built on a Tool or a
                custom backend (code, not data).
            strategy: a strategy of your own, when the Router had one.

        Raises:
            NotRestorable: a model needs a backend or an environment variable.
            ConfigError: the data is malformed.
        """
        return from_config(data, backends=backends, strategy=strategy)
