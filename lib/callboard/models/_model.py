"""ProviderModel: one model at one provider, called like a function.

Each model the factory builds wraps an [`iModel`][callboard.iModel] on the
matching Endpoint, so it gets the same limits, hooks, lifecycle events and retries as any
other callboard model; this layer only shapes the request from friendly arguments and
the answer into a [`ModelResponse`][callboard.ModelResponse].
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import TracebackType
from typing import Any, ClassVar, Generic, Self, TypeVar

import trio

from callboard.calling import Calling
from callboard.errors import ConfigError
from callboard.imodel import iModel
from callboard.providers import NormalizedResponse
from callboard.resilience import InvalidResponse

from ._errors import SyncCallInsideTrio
from ._kinds import KINDS, Kind
from ._response import ModelResponse, ResponseMetadata
from ._seed_state import seed_state
from ._serialized import serialize_model

__all__ = ["ProviderModel"]

R = TypeVar("R")
T = TypeVar("T")


class ProviderModel(Generic[R]):
    """A model at a provider, for one model type; built by [`Model`][callboard.Model]'s factories.

    Call it from async code (``await model(...)`` or ``await model.acall(...)``), or
    from a plain script with ``call_sync()``. ``async with model:`` starts its actor
    tree (Endpoint and Executor actors under a supervisor) for the block; without it
    each call runs inline in the caller's task. Both ways apply the same limits and hooks.

    Attributes:
        imodel: the [`iModel`][callboard.iModel] doing the calls (its hooks,
            limits and lifecycle events are all available).
    """

    model_type: ClassVar[str] = ""
    """The factory name of this kind of model (``"chat_completion"``, ...)."""

    def __init__(self, imodel: iModel, *, rebuild: Callable[[], iModel]) -> None:
        self.imodel = imodel
        self._rebuild = rebuild

    # -- identity ----------------------------------------------------------------------

    @property
    def provider(self) -> str:
        """The provider's name (``"openai"``)."""
        return self.imodel.provider or ""

    @property
    def model_id(self) -> str:
        """The model's name at the provider (``"gpt-4o"``)."""
        return str(self.imodel.endpoint_options.get("model", ""))

    @property
    def response_type(self) -> str:
        """What this model's ``ModelResponse`` holds (``"text_generation"``, ...)."""
        return self._kind().response_type

    @classmethod
    def _kind(cls) -> Kind:
        return KINDS[cls.model_type]

    def get_model_info(self) -> dict[str, str]:
        """``{"model_id": "gpt-4o", "provider": "openai"}``."""
        return {"model_id": self.model_id, "provider": self.provider}

    def instance_type(self) -> dict[str, str]:
        """``{"model_type": "chat_completion"}``: what kind of model this is."""
        return {"model_type": self.model_type}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.provider}/{self.model_id}>"

    # -- running -----------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.imodel.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return await self.imodel.__aexit__(exc_type, exc, tb)

    async def __call__(self, *args: Any, **kwargs: Any) -> R:
        """The same as ``acall()``."""
        return await self.acall(*args, **kwargs)

    async def acall(self, *args: Any, **kwargs: Any) -> R:
        """Make one call (each kind of model documents its arguments)."""
        raise NotImplementedError  # pragma: no cover - every factory kind defines it

    def call_sync(self, *args: Any, **kwargs: Any) -> R:
        """Make one call from synchronous code: runs ``acall()`` in ``trio.run``.

        For plain scripts. Each call runs in an event loop of its own, on a fresh copy of
        the model (a loop's clock and sockets do not outlive it), so rate limits and the
        circuit breaker do not carry over from one ``call_sync`` to the next: to pace many
        calls, make them from one ``trio.run`` with ``await model.acall(...)``.

        Raises:
            SyncCallInsideTrio: called from a thread already running trio (use
                ``await model.acall(...)``, or ``trio.to_thread.run_sync``).
            ConfigError: ``stream=True`` (a stream needs the async API).
            CallboardError: whatever ``acall()`` raises.
        """
        if trio.lowlevel.in_trio_run():
            raise SyncCallInsideTrio(
                f"{type(self).__name__}.call_sync was called inside a running trio loop; "
                "use 'await model.acall(...)' there, or run call_sync in a worker thread "
                "(trio.to_thread.run_sync)"
            )
        if kwargs.get("stream"):
            raise ConfigError(
                "call_sync cannot stream: iterate 'await model.acall(..., stream=True)' "
                "inside trio.run, or call_sync without stream for the whole text",
                field="stream",
            )
        fresh = type(self)(self._rebuild(), rebuild=self._rebuild)
        return trio.run(functools.partial(fresh.acall, *args, **kwargs))

    async def _invoke(self, payload: dict[str, Any]) -> tuple[Calling, NormalizedResponse]:
        calling = await self.imodel.invoke(**payload)
        response: object = calling.response
        if not isinstance(response, NormalizedResponse):
            raise InvalidResponse(
                f"{self.provider}/{self.model_id} answered with a "
                f"{type(response).__name__}, not a NormalizedResponse",
                provider=self.provider,
                calling_id=calling.id,
            )
        return calling, response

    def _respond(
        self, calling: Calling, response: NormalizedResponse, content: T
    ) -> ModelResponse[T]:
        return ModelResponse(
            self.response_type, content, ResponseMetadata.of(calling), raw=response
        )

    # -- serialization -----------------------------------------------------------------

    def serialize(self) -> dict[str, Any]:
        """This model's configuration as JSON-safe data in msgflux's shape;
        ``from_serialized()`` rebuilds it (also after ``json.dumps`` /
        ``json.loads``, and as ``Model.from_serialized(**data)``)::

            {"msgflux_type": "model", "provider": "openai", "model_type": "chat_completion",
             "state": {"model_id": "gpt-4o",
                       "sampling_params": {"base_url": ..., "api_key": "OPENAI_API_KEY"},
                       "sampling_run_params": {"temperature": 0.7, "max_tokens": 500},
                       "callboard": {"format": 1, "imodel": {...}}}}

        ``sampling_params`` says where and how to reach the provider,
        ``sampling_run_params`` holds the request defaults, and ``callboard`` is the
        versioned, lossless rest (limits, metadata, hooks' names).

        An API key is kept only as the name of its environment variable
        (``api_key="OPENAI_API_KEY"``); a key given as a value is left out.

        Raises:
            ConfigError: an option or metadata value is not JSON (a ``RetryPolicy``
                object, for instance).
        """
        ours = serialize_model(self.model_type, self.provider, self.model_id, self.imodel)
        return seed_state(ours)
