"""iModel: the object users call; one backend behind limits, hooks and events."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Iterable, Mapping
from types import TracebackType
from typing import Any, Self, overload

import trio

from callboard.actors import Broadcast, LifecycleEvent, Supervisor
from callboard.calling import Backend, TokenEstimator, estimate_tokens
from callboard.calling._calling import Calling, CallingStatus, check_timeout
from callboard.endpoint import CircuitSettings, Endpoint, Secret
from callboard.endpoint._api_key import key_source
from callboard.endpoint._config import DEFAULT_TIMEOUT, AuthName
from callboard.endpoint._transport import DEFAULT_MAX_RESPONSE_BYTES, Timeouts
from callboard.errors import ConfigError
from callboard.executor import Executor, RequestEvent
from callboard.limits import AdmissionPolicy, Limiter
from callboard.resilience import RetryPolicy

from ._create import hook_options
from ._hook_actor import HookActor
from ._hooks import HookRegistry
from ._options import (
    DEFAULTED_OPTIONS,
    OWN_CHECKED,
    backend_attr,
    check_own,
    given_options,
    limiters,
    live_objects,
    resolve_backend,
)
from ._outcome import check_calling, outcome, rerun, settle_refused
from ._request_style import invoke_request, split_endpoint
from ._runtime import Runtime
from ._seed_names import default_name
from ._stream import StreamChannel

__all__ = ["iModel"]


class iModel:
    """A backend (an Endpoint, a [`Tool`][callboard.Tool], any ``Backend``) behind rate limits,
    hooks and lifecycle events.

    Give it ``backend=`` or ``provider=`` (an Endpoint matched through
    [`match_endpoint`][callboard.match_endpoint]), not both. Limits build token buckets the model
    shares between its two ways of running:

    - **started** (``async with model:``, or hosted by a ``ServiceRegistry``): a
      Supervisor (one_for_one) runs the hook actors, the Endpoint actor (for a provider
      backend) and the Executor actor; calls go through the Executor's FIFO queue,
      observers run in their own tasks. If that tree fails (its supervisor gives up),
      the model is *stopped*: every call fails at once with [`ModelStopped`][callboard.ModelStopped]
      saying why, until ``async with model:`` starts it again.
    - **inline** (never started, or stopped cleanly): ``invoke`` runs the same steps in
      the caller's task — the same buckets, concurrency limit, hooks and events, no
      task spawned; observer hooks then run in the caller's task too.

    Args:
        backend: performs each call (``async execute(calling)``).
        provider: a provider name (``"openai"``, ...; ``callboard.known_providers()``).
        endpoint: the endpoint to match with ``provider`` (``"chat"``,
            ``"chat/completions"``, ``"embeddings"``, ...).
        rate_limiter: a [`Limiter`][callboard.Limiter] for requests (the seeds' name).
        executor: an Executor whose limiters this model shares (its buckets, so several
            models draw on one budget); the model runs its own Executor actor over them.
        hook_registry: the hooks to run.
        queue_capacity: Callings waiting for admission before ``invoke`` waits.
        capacity_refresh_time: seconds for an empty bucket to refill.
        limit_requests: requests per ``capacity_refresh_time``, or any
            [`Limiter`][callboard.Limiter] (a [`RedisLimiter`][callboard.RedisLimiter] shares it
            between processes).
        limit_tokens: tokens per ``capacity_refresh_time``, or any Limiter.
        name: shown in events and errors, the registry's key; derived by default.
        version: a free-form version, shown by the registry.
        tags: labels for ``ServiceRegistry.list_by_tag``.
        provider_metadata: provider state kept with the model (Claude Code's session).
        concurrency_limit: calls running at once, started or inline; ``None``: no limit.
        token_estimator: payload → tokens to reserve ([`estimate_tokens`][callboard.estimate_tokens]
            by default).
        admission_policy: how limits are paced and learned (smooth pacing by default).
        event_buffer_size: lifecycle events the model's Broadcast buffers per reader.
        stream_buffer_size: chunks buffered between a streamed call and a slow reader.
        model: with ``provider``: the request's ``model`` field when a call has none.
        api_key: with ``provider``: the key as ``Secret(key)``, or a bare string
            (capitals, digits and underscores name an environment variable, like
            ``"OPENAI_API_KEY"``; anything else is the key, wrapped in a Secret at once).
            Never stored: only a variable's name is kept (and serialized).
        api_key_env: with ``provider``: the key's environment variable, explicitly.
        base_url: with ``provider``: where the API is (``EndpointConfig``).
        path: with ``provider``: the endpoint's own path (EndpointConfig's, as below).
        method: with ``provider``: the HTTP method.
        auth: with ``provider``: how the key is sent (``None``: the provider's way).
        headers: with ``provider``: extra non-secret headers.
        timeout: with ``provider``: seconds to connect and between bytes of an answer.
        transport: with ``provider``: ``"http"`` (h11), ``"httpx"``, ``"sdk"`` or a registered one.
        retry: with ``provider``: a [`RetryPolicy`][callboard.RetryPolicy].
        circuit: with ``provider``: [`CircuitSettings`][callboard.CircuitSettings].
        max_connections: with ``provider``: the connection pool's size.
        timeouts: with ``provider``: per-phase [`Timeouts`][callboard.Timeouts].
        max_response_bytes: with ``provider``: the largest answer read.
        default_fields: with ``provider``: request fields used when a call lacks them;
            the one place for request defaults, and how to send a field the provider's
            API reference does not list.
        **request_fields: with ``provider``: more request defaults as keywords
            (``temperature=0.2``, ``max_tokens=256``), each a field the provider
            documents for this endpoint; they join ``default_fields``.

    Raises:
        ConfigError: neither or both of backend and provider; a bad option (named in
            ``field``); an unknown keyword (with a did-you-mean); endpoint options or
            request fields with ``backend=``.
        UnknownProvider, UnsupportedModelType: no such provider, or no such endpoint.
        MissingApiKey: the provider needs a key and none was found.

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
        endpoint: str | Endpoint = "chat/completions",
        rate_limiter: Limiter | None = None,
        executor: Executor | None = None,
        hook_registry: HookRegistry | None = None,
        queue_capacity: int = 100,
        capacity_refresh_time: float = 60,
        limit_requests: float | Limiter | None = None,
        limit_tokens: float | Limiter | None = None,
        *,
        name: str | None = None,
        version: str | None = None,
        tags: Iterable[str] = (),
        provider_metadata: Mapping[str, Any] | None = None,
        concurrency_limit: int | None = None,
        token_estimator: TokenEstimator | None = None,
        admission_policy: AdmissionPolicy | None = None,
        event_buffer_size: int = 1024,
        stream_buffer_size: int = 64,
        model: str | None = None,
        api_key: str | Secret | None = None,
        api_key_env: str | None = None,
        base_url: str | None = None,
        path: str | None = None,
        method: str = "POST",
        auth: AuthName | None = None,
        headers: Mapping[str, str] | None = None,
        default_fields: Mapping[str, Any] | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        transport: str = "http",
        retry: RetryPolicy | None = None,
        circuit: CircuitSettings | None = None,
        max_connections: int | None = None,
        timeouts: Timeouts | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        **request_fields: Any,
    ) -> None:
        backend, endpoint = split_endpoint(backend, endpoint)
        if (backend is None) == (provider is None):
            raise ConfigError(
                "give iModel exactly one of backend= (an Endpoint, a Tool, any object with "
                "async execute(calling)) or provider= (a provider name to match)",
                field="backend" if backend is None else "provider",
            )
        options = {k: v for k, v in locals().items() if k != "self"}  # the signature lists them
        check_own(**{key: options[key] for key in OWN_CHECKED})
        key = key_source(api_key, api_key_env)
        given = given_options(**{key: options[key] for key in DEFAULTED_OPTIONS})
        backend = resolve_backend(
            backend,
            provider,
            endpoint,
            key=key,
            explicit_env=api_key_env is not None,
            options=given,
            request_fields=request_fields,
        )
        self.backend: Backend = backend
        self.task_executor = executor if executor is not None and executor.takes_tasks else None
        """A backend-less ``executor=``: ``invoke(request_payload)`` submits to it."""
        self.provider = provider
        self.endpoint = endpoint
        self.hook_registry = hook_registry
        self.id = uuid.uuid4().hex
        """Fresh for every instance (``from_dict`` included)."""
        self.name: str = (
            name
            or default_name(backend)
            or backend_attr(backend, "name", None)
            or (f"{provider}_{endpoint}" if provider else type(backend).__name__)
        )
        self.version: str | None = version or backend_attr(backend, "version", None)
        self.tags: frozenset[str] = frozenset(tags or backend_attr(backend, "tags", None) or ())
        self.provider_metadata: dict[str, Any] = dict(provider_metadata or {})
        self.api_key_env: str | None = key if isinstance(key, str) else None
        """The environment variable the key comes from (what serialization keeps)."""
        self.endpoint_options: dict[str, Any] = {**given, **request_fields}
        """The endpoint options and request defaults given (never the key)."""
        self.queue_capacity = queue_capacity
        self.capacity_refresh_time = float(capacity_refresh_time)
        self.limit_requests = limit_requests
        self.limit_tokens = limit_tokens
        self.concurrency_limit: int | None = concurrency_limit
        self.admission_policy = policy = admission_policy or AdmissionPolicy()
        requests, tokens = limiters(options, policy)
        self.rate_limiter: Limiter | None = requests  # paced and learning (AdaptiveLimiter)
        self.token_limiter: Limiter | None = tokens
        self.limiter_objects: tuple[str, ...] = live_objects(options)
        """The options given as live objects rather than numbers (not serializable)."""
        self.broadcast: Broadcast[LifecycleEvent] = Broadcast(event_buffer_size)
        self._rt = Runtime(
            backend,
            name=self.name,
            hooks=hook_registry,
            broadcast=self.broadcast,
            requests=requests,
            tokens=tokens,
            capacity_refresh_time=capacity_refresh_time,
            queue_capacity=queue_capacity,
            concurrency_limit=concurrency_limit,
            estimator=token_estimator or estimate_tokens,
            stream_buffer=stream_buffer_size,
            admission_policy=policy,
        )
        self.executor: Executor = self._rt.executor
        """The model's Executor (its actor admits the calls of a started model)."""
        self._tree = self._rt.tree

    def __repr__(self) -> str:
        state = "started" if self.is_started else "inline"
        return f"<iModel {self.name!r} id={self.id[:8]} {state}>"

    @property
    def is_started(self) -> bool:
        """True while the actor tree runs (calls go through the Executor actor)."""
        return self.executor.ref.is_alive

    @property
    def failure(self) -> BaseException | None:
        """Why the model is stopped: the error its actor tree ended with (its supervisor
        gave up), until it is started again; ``None`` otherwise. While it is set, every
        call fails at once with ``ModelStopped`` instead of running inline."""
        return self._tree.failure

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
        """Run the actor tree until ``stop()`` or cancellation (a supervisor's child).

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
        await self._rt.aclose()

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
        (``HookAborted``); ``invoke()`` raises that error.

        Raises:
            ConfigError: a negative timeout.
        """
        return await self._rt.factory.create(
            arguments,
            timeout=timeout,
            streaming=streaming,
            create=hook_options(
                create_event_exit_hook, create_event_hook_timeout, create_event_hook_params
            ),
            pre_invoke=hook_options(
                pre_invoke_exit_hook, pre_invoke_hook_timeout, pre_invoke_hook_params
            ),
            post_invoke=hook_options(
                post_invoke_exit_hook, post_invoke_hook_timeout, post_invoke_hook_params
            ),
        )

    @overload
    async def invoke(
        self,
        calling: Calling | None = None,
        poll_timeout: float | None = None,
        poll_interval: float | None = None,  # compat: accepted, never used
        **arguments: Any,
    ) -> Calling: ...

    @overload
    async def invoke(
        self,
        calling: Mapping[str, Any],
        *,
        num_api_tokens_needed: int = 0,
        http_path: str | None = None,
        http_method: str | None = None,
        sdk_method_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> RequestEvent: ...

    async def invoke(
        self,
        calling: Calling | Mapping[str, Any] | None = None,
        poll_timeout: float | None = None,
        poll_interval: float | None = None,  # compat with the seeds' API; never used
        **arguments: Any,
    ) -> Calling | RequestEvent:
        """Run a call to its end and return the Calling (``calling.response`` holds the
        answer). Waits on the Calling itself; nothing polls.

        Every Calling handed to ``invoke`` reaches a terminal state, whatever happens to
        the caller: cancelled while it waits for queue room, it is cancelled too, so
        another task awaiting it wakes. A Calling runs once: pass a pending one (from
        ``create_calling()``); a finished one raises ``CallingStateError``, started or
        inline alike (a PreEventCreate hook's abort raises its ``HookAborted``).

        Args:
            calling: one made by ``create_calling()``; ``arguments`` are then ignored.
                A mapping is lionfuncs' ``request_payload``: ``arguments`` are then its
                ``num_api_tokens_needed``, ``http_path``, ``http_method``,
                ``sdk_method_name`` and ``metadata``, and a ``RequestEvent`` is returned.
            poll_timeout: an overall deadline in seconds (lowers the Calling's timeout).
            poll_interval: accepted for compatibility and ignored: nothing polls.
            **arguments: the request, for ``create_calling()`` (hook options too).

        Raises:
            ConfigError: ``calling`` is not a Calling (request fields go as keywords:
                ``invoke(messages=[...])``), or ``poll_timeout`` is not a number >= 0.
            CallingStateError: ``calling`` is not pending (it ran already, or runs).
            ModelStopped: the model's actor tree failed and was not started again.
            CallboardError: the typed error of the failed call (``CallingTimeoutError``,
                ``HookAborted``, ``ToolArgumentError``, a provider error, ...), with the
                Calling attached as ``error.calling``; an error that is not callboard's
                own is wrapped in ``InvocationError`` (the original as its cause).
        """
        del poll_interval  # compat: accepted and ignored, completion is awaited
        if isinstance(calling, Mapping):
            return await invoke_request(self, calling, **arguments)  # lionfuncs' request
        check_timeout(poll_timeout, "poll_timeout")
        if calling is None:
            calling = await self.create_calling(**arguments)
        else:
            check_calling(calling, "invoke")
        if calling.status is not CallingStatus.PENDING:
            return rerun(calling)
        if poll_timeout is not None and (calling.timeout is None or poll_timeout < calling.timeout):
            calling.timeout = poll_timeout
        try:
            await self._rt.run(calling)
        except BaseException as error:
            settle_refused(calling, error)
            raise
        return outcome(calling)

    async def invoke_stream(
        self, calling: Calling | None = None, **arguments: Any
    ) -> AsyncGenerator[str]:
        """Stream a call: yield its text chunks (strings) as they arrive, then raise its
        error if it failed (with ``error.calling``, as ``invoke()``). With ``n`` > 1
        only the first choice's text is yielded; the others are in the channel's deltas
        (``invoke_stream_with_channel()``) and ``calling.response.choices``.

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
        """Create a streaming Calling and return its ``StreamChannel`` (not yet
        running: the call starts when the channel is first iterated).

        Raises:
            ConfigError, CallingStateError: as ``invoke()``, for ``calling``.
        """
        if calling is None:
            calling = await self.create_calling(streaming=True, **arguments)
        else:
            check_calling(calling, "invoke_stream")
            if calling.status is not CallingStatus.PENDING:
                rerun(calling)
        return self._rt.stream(calling)

    # -- registry support --------------------------------------------------------------

    def tool_schema(self) -> dict[str, Any] | None:
        """The backend's tool (function) schema, when it has one (a [`Tool`][callboard.Tool])."""
        schema = getattr(self.backend, "tool_schema", None)
        if callable(schema):
            result = schema()
            if isinstance(result, dict):
                return dict(result)  # pyright: ignore[reportUnknownArgumentType]
        return None

    # -- serialization -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """This model's configuration as JSON-safe data (see ``callboard``'
        serialization docs): no identity, no bucket state, no secret. A ``retry`` or
        ``circuit`` option is written as its fields.

        Raises:
            ConfigError: metadata or options hold something that is not JSON, or a limit
                was given as a live object (a Limiter, an Executor).
        """
        from ._serialize import model_to_dict

        return model_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, backend: Backend | None = None) -> iModel:
        """Rebuild a model from ``to_dict()`` data, with a fresh id and full buckets.

        Args:
            data: what ``to_dict`` returned (possibly through JSON).
            backend: the backend to use when the data has none (a Tool-backed model).

        Raises:
            NotRestorable: the model had a Tool or custom backend and none was given, or
                its API key's environment variable is not set.
            ConfigError: the data is not a mapping, or is malformed (every problem listed).
        """
        from ._serialize import model_from_dict

        return model_from_dict(data, backend=backend)
