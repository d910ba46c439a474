"""The bytes of one request for the ``http`` transport: its head, its body, and the one
place the API key becomes bytes.

The head is written here rather than by h11 so the key never sits in plain text in a
frame's locals: the plain headers are joined into bytes, and the credential headers
(``Credential``, masked) are revealed only inside the
expression that joins the final buffer, which is handed on as a ``memoryview`` (whose
repr shows no content) straight to the socket. h11 is told the request's method and
target so that it reads the answer to it (see ``start()``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from callboard._version import __version__

if TYPE_CHECKING:
    from callboard.providers import Credential, ProviderRequest

__all__ = ["BadHeader", "encode_body", "request_head", "wire_bytes"]

_DEFAULTS = {
    "accept-encoding": "gzip, deflate",
    "connection": "keep-alive",
    "user-agent": f"callboard/{__version__}",
}
# A header value may not end a line early or smuggle a byte h11 would refuse.
_UNSAFE = re.compile(r"[\r\n\0]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_CHECKED_NAMES: set[str] = set()  # names already found to be tokens (few per process)


class BadHeader(ValueError):
    """A header name or value that cannot be written (an endpoint config mistake)."""


def encode_body(request: ProviderRequest) -> tuple[bytes | None, str | None]:
    """The request's body and its content type (JSON, multipart form, or none)."""
    if request.content is not None:
        return request.content, "application/json"
    if request.files is not None or request.data is not None:
        return _multipart(request.data or {}, request.files or {})
    return None, None


def _multipart(
    data: Mapping[str, str | list[str]], files: Mapping[str, tuple[str, bytes, str]]
) -> tuple[bytes, str]:
    boundary = os.urandom(16).hex()
    parts: list[bytes] = []
    for name, value in data.items():
        for item in [value] if isinstance(value, str) else value:
            parts.append(
                f'--{boundary}\r\ncontent-disposition: form-data; name="{_quoted(name)}"'
                f"\r\n\r\n".encode()
                + item.encode()
                + b"\r\n"
            )
    for name, (filename, content, content_type) in files.items():
        parts.append(
            f'--{boundary}\r\ncontent-disposition: form-data; name="{_quoted(name)}"; '
            f'filename="{_quoted(filename)}"\r\ncontent-type: {content_type}\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def request_head(
    method: str,
    target: str,
    host: str,
    headers: Mapping[str, str],
    *,
    content_type: str | None,
    length: int | None,
) -> bytes:
    """The request line and the plain (non-secret) headers, without the final CRLF.

    The request's own headers win over the defaults (accept-encoding, connection,
    user-agent); the transport's framing (host, content-length) wins over both.

    Raises:
        BadHeader: a name that is not an HTTP token, or a value with CR, LF or NUL.
    """
    merged = dict(_DEFAULTS)
    for name, value in headers.items():
        merged[name.lower()] = value
    if content_type is not None and "content-type" not in merged:
        merged["content-type"] = content_type
    merged["host"] = host
    if length is not None:
        merged["content-length"] = str(length)
    else:
        merged.pop("content-length", None)
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in merged.items():
        if name not in _CHECKED_NAMES:
            if not _TOKEN.match(name):
                raise BadHeader(f"header name {name!r} is not an HTTP token")
            if len(_CHECKED_NAMES) < 1024:
                _CHECKED_NAMES.add(name)
        lines.append(f"{name}: {value}")
    lines.append("")
    text = "\r\n".join(lines)
    # One scan of the whole head instead of one per value: a value with CR, LF or NUL
    # (header smuggling) shows as a line break the join did not put there.
    breaks = len(lines) - 1
    if text.count("\n") != breaks or text.count("\r") != breaks or "\0" in text:
        raise BadHeader("a header value has CR, LF or NUL in it")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise BadHeader("a header value has characters outside latin-1") from None


def wire_bytes(
    head: bytes, secret_headers: Mapping[str, Credential], body: bytes | None
) -> memoryview:
    """The whole request as one buffer: ``head``, the revealed credentials, ``body``.

    Raises:
        BadHeader: a credential with CR, LF or NUL, or outside latin-1.
    """
    return memoryview(
        b"".join(
            [head, *[_secret_line(n, v) for n, v in secret_headers.items()], b"\r\n", body or b""]
        )
    )


def _secret_line(name: str, value: Credential) -> bytes:
    # Revealed and encoded in one expression: no local of this frame holds the text.
    if _UNSAFE.search(value.reveal()) is not None:
        raise BadHeader(f"the {name} credential has CR, LF or NUL in it")
    try:
        return name.encode("ascii") + b": " + value.reveal().encode("latin-1") + b"\r\n"
    except UnicodeEncodeError:
        raise BadHeader(f"the {name} credential has characters outside latin-1") from None
