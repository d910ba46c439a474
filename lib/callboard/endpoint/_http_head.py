"""The hot path of reading an answer: a plain response head parsed in one regex pass.

h11 reads every answer correctly, but its state machine costs more CPU per call than
the rest of the transport together. Almost every answer a model server sends is the
same plain shape: ``HTTP/1.1``, a final status, token-named headers with visible
values, one ``Content-Length``. ``parse_head`` accepts exactly that shape, a strict
subset of what h11 accepts, and gives ``None`` for anything else: an informational
(1xx) answer, a 204 / 304, chunked or close-delimited bodies, ``Transfer-Encoding``,
several ``Content-Length`` headers, obsolete line folding, bare-LF line ends, control
bytes, HTTP/1.0. The connection then hands every byte it received to h11, which reads
(or refuses) the answer as before, so h11 still decides every case but the common one
and says what is wrong with a broken answer. ``tests/endpoint/test_http_head.py``
checks, on generated heads, that whenever ``parse_head`` accepts one, h11 reads the
same status, headers, length and keep-alive from it.
"""

from __future__ import annotations

import re

import attrs

__all__ = ["Head", "parse_head"]

_TOKEN = rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+"
_VCHAR = rb"[\x21-\x7e\x80-\xff]"
# A header line: name, colon, optional whitespace, then an optional value that starts
# and ends with a visible byte (its own trailing whitespace after it). Each piece can
# match a byte in one way only, and the quantifiers are possessive and each line atomic:
# a hostile head cannot make the match backtrack (an empty value once had two
# whitespace runs to split its blanks between, exponential in the number of lines).
_LINE = rb"(?>%s:[ \t]*+(?:%s++(?:[ \t]++%s++)*+[ \t]*+)?\r\n)" % (_TOKEN, _VCHAR, _VCHAR)
# The whole head, final blank line included: status line, then header lines. Stricter
# than h11's grammar (no control bytes in values or the reason, HTTP/1.1 only).
_HEAD = re.compile(
    rb"HTTP/1\.1 [2-9][0-9]{2}(?: [ \t\x21-\x7e\x80-\xff]*+)?\r\n(?:%s)*+\r\n" % _LINE
)
_DIGITS = re.compile(r"[0-9]{1,18}")
_NO_BODY = frozenset({204, 304})


@attrs.define(slots=True)
class Head:
    """A plain response head.

    Attributes:
        status: the status code (200 to 999, never 204 or 304).
        headers: lower-cased names, values decoded (UTF-8, else latin-1), repeated
            headers joined with ", ", as the transport hands them on.
        length: the body's Content-Length.
        keep_alive: the server did not ask to close the connection.
    """

    status: int
    headers: dict[str, str]
    length: int
    keep_alive: bool


def parse_head(head: bytes | bytearray, method: str) -> Head | None:
    """``head`` (status line to the blank line, inclusive) if it is a plain answer to
    ``method`` with a Content-Length body; ``None`` for h11 to read instead.

    Example:
        >>> parse_head(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\n", "POST")
        Head(status=200, headers={'content-length': '2'}, length=2, keep_alive=True)
        >>> parse_head(b"HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n", "POST")
    """
    if method in ("HEAD", "CONNECT") or _HEAD.fullmatch(head) is None:
        return None
    status = int(head[9:12])
    if status in _NO_BODY:
        return None
    plain = head.isascii()  # the common case: every value reads the same in any decoding
    headers: dict[str, str] = {}
    length = -1
    keep_alive = True
    for line in head.decode("latin-1").split("\r\n")[1:-2]:
        raw_name, _, raw_value = line.partition(":")
        value = raw_value.strip(" \t") if plain else _decoded(raw_value.strip(" \t"))
        name = raw_name.lower()
        if name == "content-length":
            # h11 merges a comma list of equal lengths, and refuses unequal ones;
            # both are rare enough to leave to it.
            if length >= 0 or _DIGITS.fullmatch(value) is None:
                return None
            length = int(value)
        elif name == "transfer-encoding":
            return None
        elif name == "connection" and any(
            token.strip(" \t").lower() == "close" for token in value.split(",")
        ):
            keep_alive = False
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    if length < 0:
        return None
    return Head(status, headers, length, keep_alive)


def _decoded(value: str) -> str:
    # A value with bytes over 0x7f, read as latin-1: UTF-8 if it is, else latin-1 (what
    # the transport hands on for h11's answers too).
    raw = value.encode("latin-1")
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return value
