"""Errors raised by iModel, its hooks, Tool backends, the ServiceRegistry and streams."""

from __future__ import annotations

from collections.abc import Iterable

from callboard.errors import ConfigError

from ._errors import CallingAbortedError, ServicesError

__all__ = [
    "DuplicateModel",
    "HookAborted",
    "InvocationError",
    "ModelNotFound",
    "NotRestorable",
    "ProviderUnavailable",
    "StreamChannelError",
    "ToolArgumentError",
    "ToolError",
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


class ToolArgumentError(ServicesError, ValueError):
    """The arguments given to a Tool do not fit its signature or schema.

    ``tool`` names the tool, ``argument`` the offending argument and ``problem`` is one of
    ``"missing"``, ``"unexpected"`` or ``"wrong type"``.
    """

    def __init__(self, tool: str, argument: str, problem: str, detail: str) -> None:
        super().__init__(f"tool {tool!r}: argument {argument!r} is {problem}: {detail}")
        self.tool = tool
        self.argument = argument
        self.problem = problem


class ToolError(ServicesError):
    """The tool's function raised; the original exception is the ``__cause__``."""

    def __init__(self, tool: str, error: BaseException) -> None:
        super().__init__(f"tool {tool!r} raised {type(error).__name__} (see __cause__)")
        self.tool = tool


class ModelNotFound(ServicesError, KeyError):
    """``ServiceRegistry.get`` or ``remove`` was given a name nobody registered."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        names = sorted(known)
        listing = ", ".join(repr(n) for n in names) if names else "none"
        super().__init__(f"no model named {name!r} is registered; registered names: {listing}")
        self.name = name
        self.known = tuple(names)

    def __str__(self) -> str:  # KeyError would quote the whole message otherwise
        return str(self.args[0])


class DuplicateModel(ServicesError):
    """A model with that name is registered already (pass ``update=True`` to replace it)."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"a model named {name!r} is already registered; pass update=True to replace "
            "it or give the new model another name"
        )
        self.name = name


class ProviderUnavailable(ConfigError):
    """``iModel(provider=...)`` could not find ``callboard.providers.match_endpoint`` or
    the provider it names."""


class NotRestorable(ConfigError):
    """``iModel.from_dict`` cannot rebuild the model from the data alone (a Tool or a
    custom backend was not serialized, or the API key's environment variable is unset)."""


class StreamChannelError(ServicesError):
    """A StreamChannel was used in a way that cannot work (see the message)."""
