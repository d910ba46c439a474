"""Errors raised by iModel, its hooks, its streams and its serialization."""

from __future__ import annotations

from callboard.calling import CallingAbortedError, ServicesError
from callboard.errors import ConfigError

__all__ = [
    "HookAborted",
    "InvocationError",
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
