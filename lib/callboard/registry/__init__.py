"""ServiceRegistry: many models under one supervisor, found by name or tag."""

from __future__ import annotations

from ._errors import DuplicateModel as DuplicateModel
from ._errors import ModelNotFound as ModelNotFound
from ._registry import ServiceRegistry as ServiceRegistry

__all__ = [
    "DuplicateModel",
    "ModelNotFound",
    "ServiceRegistry",
]
