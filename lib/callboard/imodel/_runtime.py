"""A model's working parts, and where each call goes: through the Executor actor when
the tree runs, inline when it never started, refused at once when it failed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from callboard.actors import ActorStopped, Broadcast, LifecycleEvent
from callboard.calling import Backend, Calling, CallingStatus, TokenEstimator
from callboard.executor import Executor
from callboard.limits import AdmissionPolicy, Limiter

from ._create import CallingFactory
from ._errors import ModelStopped
from ._hooks import HookRegistry
from ._inline import InlineRunner
from ._pipeline import Emitter, Pipeline
from ._stream import StreamChannel
from ._streaming import stream_channel
from ._tree import ActorTree

__all__ = ["Runtime"]


class Runtime:
    """The emitter, calling factory, pipeline, Executor, inline runner and actor tree of
    one model, wired together; built once, when the model is.

    Args:
        backend: the model's backend.
        name: the model's name.
        hooks: its hooks.
        broadcast: its event bus.
        requests, tokens: the limiters both paths draw on.
        capacity_refresh_time, queue_capacity, concurrency_limit: for the Executor.
        estimator: payload → tokens to reserve.
        stream_buffer: chunks buffered for a slow stream reader.
        admission_policy: how the Executor paces and learns the limits.
    """

    def __init__(
        self,
        backend: Backend,
        *,
        name: str,
        hooks: HookRegistry | None,
        broadcast: Broadcast[LifecycleEvent],
        requests: Limiter | None,
        tokens: Limiter | None,
        capacity_refresh_time: float,
        queue_capacity: int,
        concurrency_limit: int | None,
        estimator: TokenEstimator,
        stream_buffer: int,
        admission_policy: AdmissionPolicy,
    ) -> None:
        self.name = name
        self.emitter = emitter = Emitter(broadcast, hooks)
        executor_name = f"{name}.executor"
        self.factory = CallingFactory(hooks, model=name, executor=executor_name, emitter=emitter)
        pipeline = Pipeline(
            backend,
            model=name,
            executor=executor_name,
            emitter=emitter,
            options=self.factory.options_for,
        )
        self.executor = executor = Executor(
            pipeline,
            limit_requests=requests,
            limit_tokens=tokens,
            capacity_refresh_time=capacity_refresh_time,
            queue_capacity=queue_capacity,
            concurrency_limit=concurrency_limit,
            token_estimator=estimator,
            broadcast=broadcast,
            name=executor_name,
            admission_policy=admission_policy,
        )
        attach = getattr(backend, "attach", None)
        if callable(attach):  # an Endpoint: feed it rate-limit headers, retries readmit
            attach(executor, broadcast=broadcast)
        self.inline = InlineRunner(
            pipeline,
            # The Executor's adaptive limiters, not the ones given: both paths learn alike.
            requests=executor.requests_limiter,
            tokens=executor.tokens_limiter,
            estimator=estimator,
            paused_until=lambda: executor.paused_until,
            name=executor_name,
            emitter=emitter,
            concurrency_limit=concurrency_limit,
        )
        self.tree = ActorTree(
            name,
            backend=backend,
            executor=executor,
            hooks=hooks,
            broadcast=broadcast,
            emitter=emitter,
        )
        self._stream_buffer = stream_buffer
        self._backend = backend

    async def aclose(self) -> None:
        """Close the connections the backend's inline calls share (iModel.aclose)."""
        close: Callable[[], Awaitable[None]] | None = getattr(self._backend, "aclose", None)
        if close is not None:
            await close()
        else:
            await trio.lowlevel.checkpoint()

    async def run(self, calling: Calling) -> None:
        """Take a pending Calling to its end, wherever it has to go."""
        if self.executor.ref.is_alive:
            try:
                await self.executor.call(calling)
            except ActorStopped:
                if calling.status is not CallingStatus.PENDING:
                    raise
                self.refused(calling)  # the model stopped while it waited for queue room
            except Exception:
                if not calling.finished:
                    raise  # refused before it was queued
            return
        failure = self.tree.failure
        if failure is not None:
            calling.abort(error=ModelStopped(calling.id, self.name, failure))
            return
        await self.inline.run(calling)

    def refused(self, calling: Calling) -> None:
        """Abort a pending Calling the Executor stopped before it could queue it: the
        model's stop aborts what waits for room as it aborts what is queued."""
        failure = self.tree.failure
        if failure is not None:
            calling.abort(error=ModelStopped(calling.id, self.name, failure))
        else:
            calling.abort("the model stopped while the call waited for queue room")

    def stream(self, calling: Calling) -> StreamChannel:
        """A StreamChannel over ``calling``, routed like ``run()`` when first read."""
        return stream_channel(
            calling,
            model=self.name,
            executor=self.executor,
            inline=self.inline,
            emitter=self.emitter,
            buffer=self._stream_buffer,
            failure=lambda: self.tree.failure,
            refused=self.refused,
        )
