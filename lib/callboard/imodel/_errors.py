"""Errors raised by iModel, its hooks, its streams and its serialization."""

from __future__ import annotations

from callboard.calling import CallingAbortedError, ServicesError
from callboard.errors import CallboardError, ConfigError

__all__ = [
    "HookAborted",
    "InvocationError",
    "ModelStopped",
    "NotRestorable",
    "ProviderUnavailable",
    "StreamChannelError",
]


class HookAborted(CallingAbortedError):
    """An interceptor hook registered with ``exit=True`` failed or timed out.

    The Calling finished as aborted; for the pre-phases (PreEventCreate, PreInvocation)
    no request was sent. ``phase`` is the phase's name, ``hook`` the handler's name and
    ``cause`` a one-line description (the handler's exception type, or "timed out").
    """

    def __init__(self, calling_id: str, phase: str, hook: str, cause: str) -> None:
        super().__init__(calling_id, f"{phase} hook {hook!r} {cause} and was registered exit=True")
        self.phase = phase
        self.hook = hook
        self.cause = cause


class ModelStopped(CallingAbortedError):
    """The model's actor tree ended on an error (its supervisor gave up) and was not
    started again, so the call was refused at once: nothing was sent.

    A started model whose tree failed does not quietly fall back to running inline: its
    Endpoint may be the very thing that broke. Every call fails fast with this error,
    which says why the tree stopped, until ``async with model:`` (or a registry) starts
    it again. ``model`` is the model's name, ``cause`` the error the tree ended with
    (also the ``__cause__``).
    """

    def __init__(self, calling_id: str, model: str, cause: BaseException) -> None:
        super().__init__(
            calling_id,
            f"model {model!r} is stopped: its actor tree ended with {describe(cause)}; "
            "start it again with `async with model:` (or its registry) to call it",
        )
        self.model = model
        self.cause = cause
        self.__cause__ = cause


def describe(error: BaseException) -> str:
    """``Type: message`` for callboard's own errors (their messages hold no secret), only
    the type for anything else (its message is unknown territory)."""
    if isinstance(error, CallboardError):
        return f"{type(error).__name__} ({error})"
    return type(error).__name__


class InvocationError(ServicesError):
    """A call failed with an error that is not one of callboard's own (the backend raised
    something untyped); the original is the ``__cause__``.

    ``calling`` is the failed Calling, as on every error ``iModel.invoke`` raises.
    """

    def __init__(self, calling_id: str, error: BaseException) -> None:
        super().__init__(
            f"calling {calling_id} failed: the backend raised {type(error).__name__} "
            "(see __cause__)"
        )
        self.calling_id = calling_id
        self.calling: object = None


class ProviderUnavailable(ConfigError):
    """``iModel(provider=...)`` could not find ``callboard.providers.match_endpoint`` or
    the provider it names."""


class NotRestorable(ConfigError):
    """``iModel.from_dict`` cannot rebuild the model from the data alone (a Tool or a
    custom backend was not serialized, or the API key's environment variable is unset)."""


class StreamChannelError(ServicesError):
    """A StreamChannel was used in a way that cannot work (see the message)."""
