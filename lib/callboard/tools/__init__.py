"""Tool: a Python function as a backend, with the JSON schema of its arguments."""

from __future__ import annotations

from . import _serialized as _serialized  # registers the Tool codec with iModel.to_dict
from ._errors import ToolArgumentError as ToolArgumentError
from ._errors import ToolError as ToolError
from ._tool import Tool as Tool

__all__ = [
    "Tool",
    "ToolArgumentError",
    "ToolError",
]
