"""Secret: an API key that cannot leak through repr, str, logs or serialization."""

from __future__ import annotations

import hmac
from typing import NoReturn

__all__ = ["Secret"]


class Secret:
    """A secret value (an API key) that only ``reveal()`` gives back.

    ``repr`` and ``str`` show ``***``, so a key wrapped in a Secret never reaches a log
    line, an error message, a lifecycle event or a traceback's locals by accident.
    Configs serialize a Secret as nothing at all (only an environment variable's *name*
    survives serialization); pickling is refused for the same reason.

    Args:
        value: the secret text.

    Example:
        >>> key = Secret("sk-live-123")
        >>> key, str(key), key.reveal()
        (Secret('***'), '***', 'sk-live-123')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; put it in a request header and nowhere else."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(Secret)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled; pass the environment variable's name")
