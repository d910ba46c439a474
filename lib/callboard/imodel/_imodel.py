"""iModel: the object users call; one backend behind limits, hooks and events."""

from __future__ import annotations

import uuid
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self

import trio

from callboard.actors import (
    Broadcast,
    LifecycleEvent,
    Supervisor,
)
from callboard.calling import Backend, CallingAborted, TokenEstimator, estimate_tokens
from callboard.calling._calling import Calling, CallingStatus, check_timeout
from callboard.errors import ConfigError
from callboard.executor import Executor
from callboard.limits import AdmissionPolicy, Limiter

from ._errors import HookAborted
from ._hook_actor import HookActor
from ._hooks import HookOptions, HookPhase, HookRegistry, intercept
from ._inline import InlineRunner
from ._options import ENV_NAME, OWN_KWARGS, backend_attr, bucket, match, positive
from ._outcome import outcome
from ._pipeline import NO_OPTIONS, CallOptions, Emitter, Pipeline
from ._stream import StreamChannel
from ._streaming import stream_channel
from ._tree import ActorTree

__all__ = ["iModel"]


class iModel:
    """A backend (an Endpoint, a :class:`Tool`, any ``Backend``) behind rate limits,
    hooks and lifecycle events.

    Give it ``backend=`` or ``provider=`` (matched lazily through
    ``callboard.providers.match_endpoint``), not both. Limits build token buckets the
    model shares between its two ways of running:

    - **started** (``async with model:``, or hosted by a :class:`ServiceRegistry`): a
      Supervisor (one_for_one) runs the hook actors, the Endpoint actor (for a provider
      backend) and the Executor actor; calls go through the Executor's FIFO queue,
      observers run in their own tasks.
    - **inline** (never started): ``invoke`` runs the same steps in the caller's task —
      the same buckets, hooks and events, no task spawned; observer hooks then run in
      the caller's task too.

    Args:
        backend: performs each call (``async execute(calling)``).
        provider: a provider name for ``callboard.providers.match_endpoint``.
        endpoint: the endpoint path to match (with ``provider``).
        rate_limiter: a :class:`~callboard.limits.Limiter` for requests (instead of
            ``limit_requests``).
        executor: an Executor whose limiters this model shares (its token buckets, so
            several models can draw on one budget). The model runs its own Executor
            actor over them and its own backend; the given executor's backend is unused.
        hook_registry: the hooks to run.
        queue_capacity: Callings waiting for admission before ``invoke`` waits.
        capacity_refresh_time: seconds for an empty bucket to refill.
        limit_requests: requests per ``capacity_refresh_time``.
        limit_tokens: tokens per ``capacity_refresh_time``.
        **kwargs: ``name``, ``version``, ``tags``, ``provider_metadata``,
            ``concurrency_limit``, ``token_estimator``, ``admission_policy`` (an
            :class:`~callboard.limits.AdmissionPolicy`), ``event_buffer_size``,
            ``stream_buffer_size``, ``api_key_env``; with ``provider`` everything else
            (``api_key``, ``model``, ...) goes to ``match_endpoint``. An ``api_key`` is
            never stored: only the name of its environment variable is kept, when it is
            one (``api_key="OPENAI_API_KEY"``) or given as ``api_key_env``.

    Raises:
        ConfigError: neither or both of backend and provider; a bad limit; unknown
            keyword arguments with ``backend``.
        ProviderUnavailable: ``provider`` given but no provider matched.

    Example::

        model = iModel(backend=Tool(add), limit_requests=100)
        calling = await model.invoke(a=1, b=2)          # inline
        async with model:                               # started
            calling = await model.invoke(a=3, b=4)
    """

    def __init__(
        self,
        backend: Backend | None = None,
        provider: str | None = None,
        endpoint: str = "chat/completions",
        rate_limiter: Limiter | None = None,
        executor: Executor | None = None,
        hook_registry: HookRegistry | None = None,
        queue_capacity: int = 100,
        capacity_refresh_time: float = 60,
        limit_requests: int | None = None,
        limit_tokens: int | None = None,
        **kwargs: Any,
    ) -> None:
        if (backend is None) == (provider is None):
            raise ConfigError(
                "give iModel exactly one of backend= (an Endpoint, a Tool, any object with "
                "async execute(calling)) or provider= (a provider name to match)",
                field="backend" if backend is None else "provider",
            )
        own = {key: kwargs.pop(key) for key in list(kwargs) if key in OWN_KWARGS}
        api_key = kwargs.get("api_key")
        api_key_env = own.get("api_key_env")
        if api_key_env is None and isinstance(api_key, str) and ENV_NAME.match(api_key):
            api_key_env = api_key
        if backend is None:
            assert provider is not None
            backend = match(provider, endpoint, kwargs)
        elif kwargs:
            raise ConfigError(
                f"unknown keyword arguments {sorted(kwargs)} for a model with backend=; "
                f"accepted: {sorted(OWN_KWARGS)}",
                field=sorted(kwargs)[0],
            )
        positive(capacity_refresh_time, "capacity_refresh_time")
        positive(queue_capacity, "queue_capacity", integer=True)
        for value, field in ((limit_requests, "limit_requests"), (limit_tokens, "limit_tokens")):
            if value is not None:
                positive(value, field)
        if rate_limiter is not None and limit_requests is not None:
            raise ConfigError(
                "give rate_limiter or limit_requests, not both (both limit requests)",
                field="rate_limiter",
            )
        if executor is not None and (
            limit_requests is not None or limit_tokens is not None or rate_limiter is not None
        ):
            raise ConfigError(
                "executor= brings its own limits; drop limit_requests, limit_tokens and "
                "rate_limiter, or drop executor",
                field="executor",
            )
        self.backend: Backend = backend
        self.provider = provider
        self.endpoint = endpoint
        self.hook_registry = hook_registry
        self.id = uuid.uuid4().hex
        """Fresh for every instance (``from_dict`` included)."""
        self.name: str = (
            own.get("name")
            or backend_attr(backend, "name", None)
            or (f"{provider}_{endpoint}" if provider else type(backend).__name__)
        )
        self.version: str | None = own.get("version") or backend_attr(backend, "version", None)
        self.tags: frozenset[str] = frozenset(
            own.get("tags") or backend_attr(backend, "tags", None) or ()
        )
        self.provider_metadata: dict[str, Any] = dict(own.get("provider_metadata") or {})
        self.api_key_env: str | None = api_key_env
        self.endpoint_options: dict[str, Any] = {
            key: value for key, value in kwargs.items() if key != "api_key"
        }
        self.queue_capacity = queue_capacity
        self.capacity_refresh_time = float(capacity_refresh_time)
        self.limit_requests = limit_requests
        self.limit_tokens = limit_tokens
        self.concurrency_limit: int | None = own.get("concurrency_limit")
        estimator: TokenEstimator = own.get("token_estimator") or estimate_tokens
        policy: AdmissionPolicy = own.get("admission_policy") or AdmissionPolicy()
        self.admission_policy = policy
        if executor is not None:
            requests, tokens = executor.requests_limiter, executor.tokens_limiter
        else:
            requests = rate_limiter or bucket(
                limit_requests, capacity_refresh_time, "requests", policy
            )
            tokens = bucket(limit_tokens, capacity_refresh_time, "tokens", policy)
        self.rate_limiter: Limiter | None = requests
        self.token_limiter: Limiter | None = tokens
        self.broadcast: Broadcast[LifecycleEvent] = Broadcast(own.get("event_buffer_size", 1024))
        self._stream_buffer: int = own.get("stream_buffer_size", 64)
        self._options: weakref.WeakKeyDictionary[Calling, CallOptions] = weakref.WeakKeyDictionary()
        self._emitter = Emitter(self.broadcast, hook_registry)
        executor_name = f"{self.name}.executor"
        self._pipeline = Pipeline(
            backend,
            model=self.name,
            executor=executor_name,
            emitter=self._emitter,
            options=self._call_options,
        )
        self.executor = Executor(
            self._pipeline,
            limit_requests=requests,
            limit_tokens=tokens,
            capacity_refresh_time=capacity_refresh_time,
            queue_capacity=queue_capacity,
            concurrency_limit=self.concurrency_limit,
            token_estimator=estimator,
            broadcast=self.broadcast,
            name=executor_name,
            admission_policy=policy,
        )
        attach = getattr(backend, "attach", None)
        if callable(attach):  # an Endpoint: feed it rate-limit headers, retries readmit
            attach(self.executor, broadcast=self.broadcast)
        # The Executor paces and adapts each limit (AdaptiveLimiter): inline calls draw
        # from the very same limiters.
        requests, tokens = self.executor.requests_limiter, self.executor.tokens_limiter
        self.rate_limiter = requests
        self.token_limiter = tokens
        self._inline = InlineRunner(
            self._pipeline,
            requests=requests,
            tokens=tokens,
            estimator=estimator,
            paused_until=lambda: self.executor.paused_until,
            name=executor_name,
            emitter=self._emitter,
        )
        self._tree = ActorTree(
            self.name,
            backend=backend,
            executor=self.executor,
            hooks=hook_registry,
            broadcast=self.broadcast,
            emitter=self._emitter,
        )

    def _call_options(self, calling: Calling) -> CallOptions | None:
        # Most calls override nothing: skip the weak reference a lookup would build.
        return self._options.get(calling) if self._options else None

    def __repr__(self) -> str:
        state = "started" if self.is_started else "inline"
        return f"<iModel {self.name!r} id={self.id[:8]} {state}>"

    @property
    def is_started(self) -> bool:
        """True while the actor tree runs (calls go through the Executor actor)."""
        return self.executor.ref.is_alive

    # -- the actor tree ----------------------------------------------------------------

    @property
    def supervisor(self) -> Supervisor | None:
        """The supervisor of the running actor tree; ``None`` when not started."""
        return self._tree.supervisor

    @property
    def hook_actors(self) -> tuple[HookActor, ...]:
        """The observer hooks' actors while the tree runs."""
        return self._tree.hook_actors

    async def run(self, *, task_status: trio.TaskStatus[iModel] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the actor tree until :meth:`stop` or cancellation (a supervisor's child).

        Hook actors start first (so they see every event), then an actor backend (an
        Endpoint: its ``run`` opens its client), the Executor last; they stop in reverse
        order.

        Raises:
            ActorError: the model is running already.
        """
        await self._tree.run(self, task_status)

    async def stop(self) -> None:
        """Stop the tree: the Executor first (aborting what it still holds), then let
        every hook actor handle the events it holds, then the supervisor. Idempotent."""
        await self._tree.stop()

    async def aclose(self) -> None:
        """Close the connections this model's inline calls share in the current trio
        run (they are closed when the run ends anyway; the next inline call opens new
        ones). A started model is stopped by leaving ``async with``, not by this."""
        close: Callable[[], Awaitable[None]] | None = getattr(self.backend, "aclose", None)
        if close is not None:
            await close()
        else:
            await trio.lowlevel.checkpoint()

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

    # -- calls -------------------------------------------------------------------------

    async def create_calling(
        self,
        timeout: float | None = None,  # noqa: ASYNC109 - the Calling's timeout, not this await's
        streaming: bool = False,
        create_event_exit_hook: bool | None = None,
        create_event_hook_timeout: float | None = None,
        create_event_hook_params: Mapping[str, Any] | None = None,
        pre_invoke_exit_hook: bool | None = None,
        pre_invoke_hook_timeout: float | None = None,
        pre_invoke_hook_params: Mapping[str, Any] | None = None,
        post_invoke_exit_hook: bool | None = None,
        post_invoke_hook_timeout: float | None = None,
        post_invoke_hook_params: Mapping[str, Any] | None = None,
        **arguments: Any,
    ) -> Calling:
        """Build a Calling for ``arguments`` and run the PreEventCreate hooks on it.

        The ``*_exit_hook`` / ``*_hook_timeout`` / ``*_hook_params`` options override,
        for this call, what each hook of that phase was registered with (``None`` keeps
        it). A PreEventCreate hook that aborts returns the Calling already aborted
        (``HookAborted``); :meth:`invoke` raises that error.

        Raises:
            ConfigError: a negative timeout.
        """
        calling = Calling(arguments, timeout=timeout, streaming=streaming)
        create = _options(
            create_event_exit_hook, create_event_hook_timeout, create_event_hook_params
        )
        pre_invoke = _options(pre_invoke_exit_hook, pre_invoke_hook_timeout, pre_invoke_hook_params)
        post_invoke = _options(
            post_invoke_exit_hook, post_invoke_hook_timeout, post_invoke_hook_params
        )
        options = NO_OPTIONS
        if create is not None or pre_invoke is not None or post_invoke is not None:
            # Only calls that override something are remembered (a weak reference each).
            options = CallOptions(create=create, pre_invoke=pre_invoke, post_invoke=post_invoke)
            self._options[calling] = options
        if self.hook_registry is None:
            return calling
        try:
            await intercept(
                self.hook_registry,
                HookPhase.PreEventCreate,
                calling,
                options.create,
                model=self.name,
                emit=self._emitter.emit,
            )
        except HookAborted as aborted:
            calling.abort(aborted.reason, error=aborted)
            await self._emitter.emit(
                CallingAborted(executor=self.executor.name, calling_id=calling.id)
            )
        return calling

    async def invoke(
        self,
        calling: Calling | None = None,
        poll_timeout: float | None = None,
        poll_interval: float | None = None,  # compat with the seeds' API; never used
        **arguments: Any,
    ) -> Calling:
        """Run a call to its end and return the Calling (``calling.response`` holds the
        answer). Waits on the Calling itself; nothing polls.

        Args:
            calling: one made by :meth:`create_calling`; ``arguments`` are then ignored.
            poll_timeout: an overall deadline in seconds (lowers the Calling's timeout).
            poll_interval: accepted for compatibility and ignored: nothing polls.
            **arguments: the request, for :meth:`create_calling` (hook options too).

        Raises:
            CallboardError: the typed error of the failed call (``CallingTimeoutError``,
                ``HookAborted``, ``ToolArgumentError``, a provider error, ...), with the
                Calling attached as ``error.calling``; an error that is not callboard's
                own is wrapped in :class:`InvocationError` (the original as its cause).
        """
        del poll_interval  # compat: accepted and ignored, completion is awaited
        if calling is None:
            calling = await self.create_calling(**arguments)
        if calling.status is CallingStatus.ABORTED:
            return outcome(calling)  # a PreEventCreate hook refused it
        if poll_timeout is not None:
            check_timeout(poll_timeout)
            if calling.status is CallingStatus.PENDING and (
                calling.timeout is None or poll_timeout < calling.timeout
            ):
                calling.timeout = poll_timeout
        if self.executor.ref.is_alive:  # started: through the Executor actor
            try:
                await self.executor.call(calling)
            except Exception:
                if not calling.finished:
                    raise  # refused before it was queued (e.g. the executor stopped)
        else:
            await self._inline.run(calling)
        if calling.status is CallingStatus.COMPLETED:
            return calling
        return outcome(calling)

    async def invoke_stream(
        self, calling: Calling | None = None, **arguments: Any
    ) -> AsyncGenerator[str]:
        """Stream a call: yield its text chunks (strings) as they arrive, then raise its
        error if it failed (with ``error.calling``, as :meth:`invoke`). With ``n`` > 1
        only the first choice's text is yielded; the others are in the channel's deltas
        (:meth:`invoke_stream_with_channel`) and ``calling.response.choices``.

        Inline (model not started) the call runs to its end before the chunks are
        yielded; start the model for chunks as they arrive.
        """
        channel = await self.invoke_stream_with_channel(calling, **arguments)
        try:
            async for delta in channel:
                if delta.text and delta.choice == 0:
                    yield delta.text
        finally:
            channel.abandon()  # the reader left early: cancel the call, free its slot

    async def invoke_stream_with_channel(
        self, calling: Calling | None = None, **arguments: Any
    ) -> StreamChannel:
        """Create a streaming Calling and return its :class:`StreamChannel` (not yet
        running: the call starts when the channel is first iterated)."""
        if calling is None:
            calling = await self.create_calling(streaming=True, **arguments)
        return stream_channel(
            calling,
            model=self.name,
            executor=self.executor,
            inline=self._inline,
            emitter=self._emitter,
            buffer=self._stream_buffer,
        )

    # -- registry support --------------------------------------------------------------

    def tool_schema(self) -> dict[str, Any] | None:
        """The backend's tool (function) schema, when it has one (a :class:`Tool`)."""
        schema = getattr(self.backend, "tool_schema", None)
        if callable(schema):
            result = schema()
            if isinstance(result, dict):
                return dict(result)  # pyright: ignore[reportUnknownArgumentType]
        return None

    # -- serialization -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """This model's configuration as JSON-safe data (see ``callboard``'
        serialization docs): no identity, no bucket state, no secret."""
        from ._serialize import model_to_dict

        return model_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, backend: Backend | None = None) -> iModel:
        """Rebuild a model from :meth:`to_dict` data, with a fresh id and full buckets.

        Args:
            data: what ``to_dict`` returned (possibly through JSON).
            backend: the backend to use when the data has none (a Tool-backed model).

        Raises:
            NotRestorable: the model had a Tool or custom backend and none was given, or
                its API key's environment variable is not set.
            ConfigError: the data is malformed (every problem listed).
        """
        from ._serialize import model_from_dict

        return model_from_dict(data, backend=backend)


def _options(
    exit_: bool | None, timeout: float | None, params: Mapping[str, Any] | None
) -> HookOptions | None:
    if exit_ is None and timeout is None and not params:
        return None
    return HookOptions(exit=exit_, timeout=timeout, params=dict(params or {}))
