"""Turning response body bytes into what the Endpoint reads: content decoding under a
size bound, and server-sent events parsed as the bytes arrive.

Both are plain synchronous state machines fed chunk by chunk, so the ``http`` transport
can run them on each piece of a body as h11 hands it over and never holds more than one
event (or the bounded body) in memory. Their semantics follow httpx2's (what the
``httpx`` transport reads), so both transports hand the same bytes and events to the
provider decoders: gzip and deflate (zlib-wrapped or raw) are decoded, any other coding
passes through untouched; SSE lines end in LF, CR or CRLF, an event is dispatched at a
blank line, an event that is never ended by one is dropped, and invalid UTF-8 becomes
U+FFFD.
"""

from __future__ import annotations

import codecs
import zlib
from collections.abc import Iterator

from ._transport import SSEEvent

__all__ = ["BodyTooLarge", "ContentDecoder", "EventTooLarge", "SSEParser", "UndecodableBody"]

MAX_EVENT_BYTES = 1024 * 1024
"""The largest server-sent event accepted (httpx2's bound too)."""


class BodyTooLarge(Exception):
    """The (decoded) body grew past the bound."""


class EventTooLarge(Exception):
    """One server-sent event grew past ``MAX_EVENT_BYTES``."""


class UndecodableBody(Exception):
    """The body is not valid for its content-encoding."""


class _Inflate:
    """One zlib stream (gzip, zlib or raw deflate) decoded under an output bound."""

    __slots__ = ("_deflate", "_first", "_z")

    def __init__(self, coding: str) -> None:
        self._deflate = coding == "deflate"
        self._first = True
        wbits = zlib.MAX_WBITS | 16 if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)

    def feed(self, data: bytes | bytearray, room: int) -> bytes:
        # max_length = room + 1: getting more than ``room`` bytes out proves the bound
        # is broken without ever inflating a bomb further than that.
        try:
            out = self._z.decompress(data, room + 1)
        except zlib.error:
            if not (self._deflate and self._first):
                raise UndecodableBody("the body is not valid for its content-encoding") from None
            # "deflate" is often sent raw (no zlib header): httpx2 retries that way too.
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            self._first = False
            return self.feed(data, room)
        self._first = False
        if len(out) > room:
            raise BodyTooLarge
        return out

    def flush(self) -> bytes:
        try:
            return self._z.flush()
        except zlib.error:  # pragma: no cover - flush after decompress does not fail
            raise UndecodableBody("the body is not valid for its content-encoding") from None


class ContentDecoder:
    """Decode a body's ``content-encoding`` chunk by chunk, at most ``limit`` bytes out.

    Args:
        encoding: the response's content-encoding header ("" for none); codings are
            undone in reverse order; ones other than gzip and deflate pass through.
        limit: the largest decoded body accepted.

    Raises (from ``feed()``):
        BodyTooLarge: more than ``limit`` bytes came out (a bomb stops at limit + 1).
        UndecodableBody: the bytes are not gzip / deflate.
    """

    __slots__ = ("_limit", "_size", "_stages")

    def __init__(self, encoding: str, limit: int) -> None:
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip()]
        self._stages = [_Inflate(c) for c in reversed(codings) if c in _ZLIB_CODINGS]
        self._limit = limit
        self._size = 0

    @property
    def size(self) -> int:
        """Decoded bytes handed out so far."""
        return self._size

    def feed(self, data: bytes | bytearray) -> bytes | bytearray:
        """The decoded bytes of the next piece of the body."""
        room = self._limit - self._size
        for stage in self._stages:
            data = stage.feed(data, room)
        if len(data) > room:
            raise BodyTooLarge
        self._size += len(data)
        return data

    def flush(self) -> bytes:
        """What the decoders still hold once the body ended."""
        data: bytes = b""
        for stage in self._stages:
            data = (stage.feed(data, self._limit - self._size) if data else b"") + stage.flush()
        if len(data) > self._limit - self._size:
            raise BodyTooLarge
        self._size += len(data)
        return data


_ZLIB_CODINGS = frozenset({"gzip", "x-gzip", "deflate"})


class SSEParser:
    """Server-sent events from body bytes, as they arrive.

    Example:
        >>> parser = SSEParser()
        >>> [(e.event, e.data) for e in parser.feed(b"event: a\\ndata: 1\\ndata: 2\\n\\nda")]
        [('a', '1\\n2')]
        >>> [e.data for e in parser.feed(b"ta: 3\\r\\n\\r\\n")]
        ['3']
    """

    __slots__ = ("_cr", "_data", "_event", "_line", "_pending", "_size", "_text")

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._line = ""  # the unterminated end of what arrived
        self._cr = False  # the last piece ended in CR: a following LF belongs to it
        self._event = ""
        self._data: list[str] = []
        self._pending = False
        self._size = 0

    def feed(self, chunk: bytes | bytearray) -> Iterator[SSEEvent]:
        """The events completed by ``chunk``.

        Raises:
            EventTooLarge: an event (with its unterminated line) passed the bound.
        """
        text = self._text.decode(chunk)
        if not text:
            return
        if self._cr:
            self._cr = False
            if text[0] == "\n":
                text = text[1:]
        if text.endswith("\r"):
            self._cr = True
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            self._line += text
            self._check(len(self._line))
            return
        lines = text.split("\n")
        lines[0] = self._line + lines[0]
        self._line = lines.pop()
        for line in lines:
            event = self._take(line)
            if event is not None:
                yield event
        self._check(len(self._line))

    def _take(self, line: str) -> SSEEvent | None:
        if not line:
            self._size = 0
            if not self._pending:
                return None
            event = SSEEvent(self._event or "message", "\n".join(self._data))
            self._event, self._data, self._pending = "", [], False
            return event
        if line[0] == ":":
            return None
        self._size += len(line)
        self._check(0)
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
            self._pending = True
        elif name == "event":
            self._event = value
            self._pending = True
        elif (name == "id" and "\0" not in value) or (name == "retry" and _is_int(value)):
            self._pending = True
        return None

    def _check(self, unterminated: int) -> None:
        # Counted in characters (what is held), not re-encoded to bytes per line.
        if self._size + unterminated > MAX_EVENT_BYTES:
            raise EventTooLarge(f"a server-sent event passed {MAX_EVENT_BYTES} bytes")


def _is_int(value: str) -> bool:
    try:
        int(value)
    except ValueError:
        return False
    return True
