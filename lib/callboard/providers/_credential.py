"""Credential: a header value that carries the API key, masked until it is written."""

from __future__ import annotations

import hmac
from typing import NoReturn

from callboard.resilience import Revealable

__all__ = ["Credential"]


class Credential:
    """An auth header's value (``Bearer <key>``, the bare key, ``Basic <token>``).

    The key stays inside this object from the config to the socket: ``repr`` and ``str``
    show ``***``, so a header dict holding one is safe in a traceback's captured locals,
    a log line or an error tracker. ``reveal()`` gives the text to write. It compares
    equal to that text (in constant time), so code and tests can still check a header.

    Args:
        secret: the key, as a masked object (``callboard.Secret``) or plain text.
        prefix: written before it (``"Bearer "``).

    Example:
        >>> value = Credential("sk-123", prefix="Bearer ")
        >>> value, value == "Bearer sk-123", value.reveal()
        (Credential('***'), True, 'Bearer sk-123')
    """

    __slots__ = ("_prefix", "_secret")

    def __init__(self, secret: str | Revealable, *, prefix: str = "") -> None:
        self._secret = secret
        self._prefix = prefix

    def reveal(self) -> str:
        """The header value as sent; write it to the wire and nowhere else."""
        secret = self._secret
        return self._prefix + (secret if isinstance(secret, str) else secret.reveal())

    def __repr__(self) -> str:
        return "Credential('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Credential):
            other = other.reveal()
        if not isinstance(other, str):
            return NotImplemented
        return hmac.compare_digest(self.reveal().encode(), other.encode())

    def __hash__(self) -> int:
        return hash(Credential)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Credential cannot be pickled")
