"""Errors raised by the ServiceRegistry."""

from __future__ import annotations

from collections.abc import Iterable

from callboard.calling import ServicesError

__all__ = ["DuplicateModel", "ModelNotFound"]


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
