"""Building a model's Callings: the request, the per-call hook options, PreEventCreate."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any

from callboard.calling import Calling, CallingAborted

from ._errors import HookAborted
from ._hooks import HookOptions, HookPhase, HookRegistry, intercept
from ._pipeline import NO_OPTIONS, CallOptions, Emitter

__all__ = ["CallingFactory", "hook_options"]


def hook_options(
    exit_: bool | None, timeout: float | None, params: Mapping[str, Any] | None
) -> HookOptions | None:
    """One phase's per-call overrides, or ``None`` when they override nothing."""
    if exit_ is None and timeout is None and not params:
        return None
    return HookOptions(exit=exit_, timeout=timeout, params=dict(params or {}))


class CallingFactory:
    """Builds the Callings of one model and remembers what each overrides.

    Args:
        hooks: the model's hooks (``None``: no hooks).
        model: the model's name, for hook events.
        executor: the executor name abort events carry.
        emitter: where events go.
    """

    def __init__(
        self, hooks: HookRegistry | None, *, model: str, executor: str, emitter: Emitter
    ) -> None:
        self._hooks = hooks
        self._model = model
        self._executor = executor
        self._emitter = emitter
        self._options: weakref.WeakKeyDictionary[Calling, CallOptions] = weakref.WeakKeyDictionary()

    def options_for(self, calling: Calling) -> CallOptions | None:
        """The hook overrides ``calling`` was created with (``None``: none)."""
        # Most calls override nothing: skip the weak reference a lookup would build.
        return self._options.get(calling) if self._options else None

    async def create(
        self,
        arguments: dict[str, Any],
        *,
        timeout: float | None,  # noqa: ASYNC109 - the Calling's timeout
        streaming: bool,
        create: HookOptions | None,
        pre_invoke: HookOptions | None,
        post_invoke: HookOptions | None,
    ) -> Calling:
        """A Calling for ``arguments``, through the PreEventCreate hooks (aborted by one
        that refuses it, with ``HookAborted``).

        Raises:
            ConfigError: a bad timeout or payload.
        """
        calling = Calling(arguments, timeout=timeout, streaming=streaming)
        options = NO_OPTIONS
        if create is not None or pre_invoke is not None or post_invoke is not None:
            # Only calls that override something are remembered (a weak reference each).
            options = CallOptions(create=create, pre_invoke=pre_invoke, post_invoke=post_invoke)
            self._options[calling] = options
        if self._hooks is None:
            return calling
        try:
            await intercept(
                self._hooks,
                HookPhase.PreEventCreate,
                calling,
                options.create,
                model=self._model,
                emit=self._emitter.emit,
            )
        except HookAborted as aborted:
            calling.abort(aborted.reason, error=aborted)
            await self._emitter.emit(CallingAborted(executor=self._executor, calling_id=calling.id))
        return calling
