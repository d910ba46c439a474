"""Endpoint: the supervised actor that is callboard's connection to one service.

The Executor dispatches each Calling to ``endpoint.execute(calling)`` in a task of its
own; that task builds the request, sends it on the client of the Endpoint's *current
run*, retries (the one retry layer) and parses the answer. There is no hop through a
mailbox per request: the actor's job is to own the client. ``run`` opens one pooled
client and reports ready; when the run ends the client is closed. A crash (a bug in a
transport, reported by the attempt that hit it) ends the run with that error, its
supervisor starts a new run and so a fresh client, and every attempt still using the old
client is cancelled and fails with ``EndpointRestarted`` (retryable: the retry goes out
on the new client). A Calling is therefore never lost and never finished twice: its
outcome is still decided once, by the Executor, from what ``execute`` returns or raises.

An Endpoint that is not running (an iModel used inline) still works: its calls share one
transport per trio run (``_inline_pool.py``), closed when the run ends or by ``aclose()``.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import attrs
import trio

from callboard.actors import Actor, Broadcast, BroadcastClosed, LifecycleEvent
from callboard.calling import Calling
from callboard.providers import (
    AuthStyle,
    MissingApiKey,
    NormalizedResponse,
    build_request,
    endpoint_model_type,
    get_provider,
)
from callboard.resilience import (
    Attempt,
    CircuitTransition,
    ProviderError,
    RateLimited,
    RetryBudget,
    RetryScheduled,
    default_counts_as_failure,
)

from ._client_lifecycle import ClientLifecycle
from ._config import EndpointConfig
from ._errors import EndpointRestarted, RateRefused, Stopped
from ._events import CallingRetrying, CircuitChanged, EndpointClientOpened
from ._inline_pool import InlinePool
from ._service_config import ServiceEndpointConfig
from ._service_names import api_version, seed_name, service_tags
from ._transport import Transport, TransportSettings, open_transport
from ._wire import Wire

if TYPE_CHECKING:
    from callboard.executor import Executor
    from callboard.providers import ProviderRequest

__all__ = ["Endpoint"]


class _Crash:
    """The mailbox message that ends a run: an attempt met an error no transport may raise."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Generation:
    """One run's client and the attempts using it right now."""

    __slots__ = ("cause", "drained", "number", "scopes", "transport")

    def __init__(self, number: int, transport: Transport) -> None:
        self.number = number
        self.transport = transport
        self.scopes: set[trio.CancelScope] = set()
        self.drained = trio.Event()  # set when a closing run's last attempt left
        self.cause: BaseException | None = None

    def leave(self, scope: trio.CancelScope) -> None:
        self.scopes.discard(scope)
        if not self.scopes:
            self.drained.set()


def _not_our_crash(error: BaseException) -> bool:
    return default_counts_as_failure(error) and not isinstance(error, EndpointRestarted)


class Endpoint(ClientLifecycle, Actor[_Crash]):
    """Calls one service: the Backend an Executor dispatches to, run as a supervised actor.

    Run it before (or beside) its Executor, typically under a Supervisor:
    ``ChildSpec("endpoint", endpoint.run)``. ``execute`` is what the Executor awaits.

    Args:
        config: where and how to call (a lionfuncs ``ServiceEndpointConfig`` is
            read as its default operation; see ``operation()``).
        executor: the Executor in front of this endpoint: rate-limit headers are fed to
            its ``observe`` and every retry passes its request and token limiters again
            (``readmit``).
            Also settable later with ``attach()``.
        broadcast: where circuit transitions, retries and client (re)starts are
            published.

    Raises:
        UnknownProvider, UnsupportedModelType: the config names no such provider or
            model type.
        MissingApiKey: the provider needs a key and the config resolves to none.

    Example::

        endpoint = Endpoint(EndpointConfig(provider="openai", api_key="OPENAI_API_KEY"))
        executor = Executor(endpoint, limit_requests=500, concurrency_limit=32)
        endpoint.attach(executor)
        async with trio.open_nursery() as nursery:
            await nursery.start(endpoint.run)
            await nursery.start(executor.run)
            response = await executor.call(Calling({"model": "gpt-4o-mini", "messages": [...]}))
    """

    def __init__(
        self,
        config: EndpointConfig | ServiceEndpointConfig,
        *,
        executor: Executor | None = None,
        broadcast: Broadcast[LifecycleEvent] | None = None,
    ) -> None:
        if isinstance(config, ServiceEndpointConfig):  # lionfuncs: see _client_lifecycle
            self.service_config, config = config, config.endpoint_config()
        super().__init__(mailbox_size=1, name=config.name)
        spec = get_provider(config.provider, base_url=config.base_url)
        kind = endpoint_model_type(spec, config.endpoint, own_path=config.path is not None)
        if config.path is not None:
            spec = attrs.evolve(spec, paths={**spec.paths, kind: config.path})
        if config.auth is not None:
            spec = attrs.evolve(spec, auth=AuthStyle(config.auth))
        key = config.resolve_api_key(spec.api_key_env)
        self.config = config
        self.spec = spec
        self.model_type = kind
        self._key = key  # a Secret until the transport writes it: masked in every frame
        self._build_request = build_request
        if spec.auth.value != "none" and spec.api_key_required and self._key is None:
            # Now, not on the first call: a missing key is a configuration mistake.
            raise MissingApiKey(
                f"endpoint {config.name!r} needs an API key for {spec.name!r}"
                + config.missing_key_hint(spec.api_key_env),
                field="api_key",
            )
        self._defaults = dict(config.default_fields)
        self._headers = dict(config.headers)
        self._executor = executor
        self._broadcast = broadcast
        self._wire = Wire(spec, kind, secret=self._key, observe=self._observer())
        self.breaker = config.circuit.breaker(
            name=config.name, on_transition=self._on_transition, counts_as_failure=_not_our_crash
        )
        self._generation: _Generation | None = None
        self._draining: _Generation | None = None
        self._graceful = False
        self._runs = 0
        self._crashed = False
        self._changed = trio.Event()
        self.restart_wait = 5.0
        """Seconds an attempt waits for a crashed run to be restarted before failing."""
        self.stop_timeout = 30.0
        """Seconds a graceful stop lets the attempts in flight finish on its client."""
        self._inline = InlinePool(
            lambda: open_transport(config.transport, self._settings(self._pool_size())),
            name=config.name,
        )

    def __repr__(self) -> str:
        state = "running" if self._generation is not None else "idle"
        return f"<Endpoint {self.name!r} {self.spec.name} {self.model_type.value} {state}>"

    @property
    def version(self) -> str | None:
        """The API version its requests pin (Anthropic's ``anthropic-version``), or None."""
        return api_version(self.spec)

    @property
    def tags(self) -> frozenset[str]:
        """``{"llm", provider}`` for chat, ``{model type, provider}`` otherwise."""
        return service_tags(self.spec, self.model_type)

    @property
    def seed_name(self) -> str:
        """lionpride's name for this endpoint (``anthropic_messages``, ``openai_chat``)."""
        return seed_name(self.spec, self.model_type)

    # -- wiring -------------------------------------------------------------------------

    def attach(
        self, executor: Executor | None, *, broadcast: Broadcast[LifecycleEvent] | None = None
    ) -> None:
        """Feed rate-limit headers to ``executor`` and pass retries through its limiter."""
        self._executor = executor
        if broadcast is not None:
            self._broadcast = broadcast
        self._wire.observe = self._observer()

    def _observer(self) -> Any:
        executor = self._executor
        if executor is None:
            return None

        def feedback(state: Any, status: int, calling: Calling) -> None:
            executor.feedback(state, status=status, calling=calling)

        return feedback

    @property
    def runs(self) -> int:
        """How many runs (clients) this endpoint has had; a restart adds one."""
        return self._runs

    @property
    def in_flight(self) -> int:
        """Attempts using the current run's client right now (a stopping run's too)."""
        generation = self._generation or self._draining
        return len(generation.scopes) if generation is not None else 0

    # -- the actor ----------------------------------------------------------------------

    async def on_start(self) -> None:
        """Open a fresh client for this run."""
        connections = self._pool_size()
        stack = contextlib.AsyncExitStack()
        transport = await stack.enter_async_context(
            open_transport(self.config.transport, self._settings(connections))
        )
        self._stack = stack
        self._runs += 1
        self._crashed = False
        self._generation = _Generation(self._runs, transport)
        self._signal()
        self._publish(
            EndpointClientOpened(
                endpoint=self.name, generation=self._runs, max_connections=connections
            )
        )

    async def _loop(self, receive: Any) -> None:
        # The mailbox loop returns only when stopped gracefully (a crash raises, and
        # so does cancellation): that is when on_stop lets the calls in flight finish.
        await super()._loop(receive)
        self._graceful = True

    async def handle(self, message: _Crash) -> None:
        """A crash report: end this run with the error (the supervisor restarts it)."""
        raise message.error

    async def on_stop(self) -> None:
        """Close this run's client, after letting the attempts in flight finish on it.

        A graceful stop (``endpoint.ref.stop()``) waits up to ``stop_timeout`` for
        the attempts using the client to finish; new attempts meanwhile go out on the
        inline pool (as calls of an Endpoint that is not running do). After a crash, on
        cancellation, or when the wait times out, the attempts still using the client
        are cancelled and fail with EndpointRestarted, which is retryable: after a crash
        the retry waits for the restarted run's client; otherwise it goes out on the
        inline pool.
        """
        generation = self._generation
        if generation is None:
            return
        self._generation = None
        self._signal()
        graceful, self._graceful = self._graceful, False
        try:
            if graceful and generation.cause is None and generation.scopes:
                self._draining = generation
                with trio.move_on_after(self.stop_timeout):
                    await generation.drained.wait()
        finally:
            self._draining = None
            if generation.cause is None:
                generation.cause = Stopped(self.name)
            for scope in generation.scopes:
                scope.cancel()
            with trio.CancelScope(shield=True):
                await self._stack.aclose()

    def _pool_size(self) -> int | None:
        # The user's cap, else the Executor's concurrency, else none: what may be in
        # flight is the Executor's (and the rate limits') business, not the pool's.
        executor = self._executor
        limit = executor.concurrency_limit if executor is not None else None
        return self.config.max_connections or limit

    def _settings(self, connections: int | None) -> TransportSettings:
        config = self.config
        return TransportSettings(
            timeout=config.timeout,
            max_connections=connections,
            base_url=self.spec.base_url,
            api_key=config.resolve_api_key(self.spec.api_key_env),
            provider=self.spec.name,
            timeouts=config.timeouts,
            max_response_bytes=config.max_response_bytes,
            dialect=self.spec.dialect.value,
            client_kwargs=config.client_kwargs,
        )

    async def aclose(self) -> None:
        """Close the connections inline calls share in this trio run (they would be
        closed when the run ends anyway); the next inline call opens new ones."""
        await self._inline.aclose()

    def _signal(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def _crash(self, generation: _Generation, error: BaseException) -> None:
        if generation.cause is None:
            generation.cause = error
            self._crashed = True
            with contextlib.suppress(Exception):
                self.ref.tell_nowait(_Crash(error))

    # -- the Backend --------------------------------------------------------------------

    async def execute(self, calling: Calling) -> NormalizedResponse:
        """Perform ``calling``: request, retries, circuit, parsing, token accounting.

        Raises:
            ProviderError: the last attempt's typed error (status, provider, Calling id).
            CircuitOpen: the circuit is open; nothing was sent.
            PayloadError, ConfigError: the payload cannot become a request.
        """
        payload = {**self._defaults, **calling.payload} if self._defaults else calling.payload
        retry = self.config.retry
        budget = RetryBudget.for_calling(calling.id, retry.max_retries + 1)
        stream = calling.streaming
        executor = self._executor
        requeued = False

        async def attempt(attempt: Attempt) -> NormalizedResponse:
            try:
                return await self._attempt(calling, payload, attempt, stream)
            except ProviderError as error:
                refused = error.status is not None and error.status >= 400
                if refused and calling.actual_tokens is None:
                    # It used no tokens. Said now, so that a Calling cancelled while its
                    # retry waits gets back everything reserved for it.
                    calling.actual_tokens = 0
                if executor is not None and isinstance(error, RateLimited) and error.status == 429:
                    # Refused for rate: admission's business, not a retry (see below).
                    raise RateRefused(error) from None
                raise

        def on_retry(scheduled: RetryScheduled) -> None:
            self._publish(
                CallingRetrying(
                    endpoint=self.name,
                    calling_id=calling.id,
                    attempt=scheduled.attempt,
                    delay=scheduled.delay,
                    error=repr(scheduled.error),
                )
            )

        async def readmit(attempt: Attempt) -> None:
            # Every retry passes the Executor's request and token limiters again.
            nonlocal requeued
            if requeued:
                requeued = False  # admitted again by requeue already
            elif attempt.number > 1 and executor is not None:
                await executor.readmit(calling)

        try:
            while True:
                try:
                    return await retry.run(
                        attempt, budget=budget, before_attempt=readmit, on_retry=on_retry
                    )
                except RateRefused as refused:
                    # A 429 is not the call's failure: it goes back to its place in the
                    # queue without spending its retry budget, unless waiting cannot help
                    # (then requeue raises the RateLimited error).
                    assert executor is not None
                    await executor.requeue(calling, refused.error, min_wait=retry.min_retry_after)
                    requeued = True
        except ProviderError as error:
            if error.status is not None and error.status >= 400:
                calling.actual_tokens = 0  # the provider refused it: nothing was used
            raise

    async def _attempt(
        self, calling: Calling, payload: dict[str, Any], attempt: Attempt, stream: bool
    ) -> NormalizedResponse:
        request: ProviderRequest = self._build_request(
            self.spec,
            self.model_type,
            payload,
            api_key=self._key,
            stream=stream,
            idempotency_key=attempt.idempotency_key,
            headers=self._headers,
        )
        try:
            with self.breaker.guard(provider=self.spec.name, calling_id=calling.id):
                return await self._on_client(calling, request, payload, stream)
        except ProviderError as error:
            if error.calling_id is None:
                error.calling_id = calling.id
            if error.provider is None:
                error.provider = self.spec.name
            raise

    async def _on_client(
        self, calling: Calling, request: ProviderRequest, payload: dict[str, Any], stream: bool
    ) -> NormalizedResponse:
        generation = self._generation
        if generation is None and self._crashed:
            generation = await self._wait_restart()
        if generation is None:
            shared = await self._inline.transport()
            if shared is not None:
                return await self._exchange(shared, calling, request, payload, stream)
            async with open_transport(self.config.transport, self._settings(1)) as transport:
                return await self._exchange(transport, calling, request, payload, stream)
        scope = trio.CancelScope()
        generation.scopes.add(scope)
        try:
            with scope:
                try:
                    return await self._exchange(
                        generation.transport, calling, request, payload, stream
                    )
                except (ProviderError, trio.Cancelled):
                    raise
                except Exception as error:
                    # No transport may raise this: the client is suspect. Crash the run
                    # so the supervisor restarts it with a fresh one; retry on that.
                    self._crash(generation, error)
                    raise EndpointRestarted(
                        f"endpoint {self.name!r} crashed on {type(error).__name__} and is "
                        "restarting with a fresh client",
                        provider=self.spec.name,
                        calling_id=calling.id,
                    ) from error
        finally:
            generation.leave(scope)
        raise EndpointRestarted(
            f"endpoint {self.name!r} lost its client mid-call "
            f"({type(generation.cause).__name__}); the attempt is retried on the next one",
            provider=self.spec.name,
            calling_id=calling.id,
        ) from generation.cause

    async def _exchange(
        self,
        transport: Transport,
        calling: Calling,
        request: ProviderRequest,
        payload: dict[str, Any],
        stream: bool,
    ) -> NormalizedResponse:
        if stream:
            return await self._wire.stream(transport, request, calling, payload)
        return await self._wire.call(transport, request, calling)

    async def _wait_restart(self) -> _Generation:
        with trio.move_on_after(self.restart_wait):
            while self._generation is None and self._crashed:
                await self._changed.wait()
        generation = self._generation
        if generation is None:
            raise EndpointRestarted(
                f"endpoint {self.name!r} crashed and was not restarted within "
                f"{self.restart_wait:g} s; run it under a Supervisor",
                provider=self.spec.name,
            )
        return generation

    # -- events -------------------------------------------------------------------------

    def _on_transition(self, transition: CircuitTransition) -> None:
        self._publish(
            CircuitChanged(
                endpoint=self.name,
                old=transition.old.value,
                new=transition.new.value,
                consecutive_failures=transition.consecutive_failures,
            )
        )

    def _publish(self, event: LifecycleEvent) -> None:
        broadcast = self._broadcast
        if broadcast is not None:
            with contextlib.suppress(BroadcastClosed):
                broadcast.publish(event)
