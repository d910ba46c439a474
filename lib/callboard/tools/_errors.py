"""Errors raised by Tool backends."""

from __future__ import annotations

from callboard.calling import ServicesError

__all__ = ["ToolArgumentError", "ToolError"]


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
