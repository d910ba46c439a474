"""Where the ``http`` transport's connections go: a URL's origin, the proxy the
environment names for it, and the one TLS context of the process.

Proxies are read from the environment as curl and httpx2 read them: ``HTTPS_PROXY`` for
https URLs, ``HTTP_PROXY`` for http ones, ``ALL_PROXY`` for both (lower-case names win),
and ``NO_PROXY`` lists hosts (or domain suffixes, ``*`` for all) that are reached
directly. Only ``http://`` proxies are spoken to; an https URL goes through a CONNECT
tunnel, an http URL is sent to the proxy in absolute form.

TLS verification uses one ``ssl.SSLContext`` per process: building one loads the
certificate store (tens of milliseconds), so it is built once, from ``SSL_CERT_FILE`` /
``SSL_CERT_DIR`` when set, else from certifi's bundle when certifi is installed, else
from the system's store.
"""

from __future__ import annotations

import base64
import functools
import importlib
import os
import ssl
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import NamedTuple

from callboard.providers import Credential

__all__ = ["Origin", "Proxy", "Route", "proxy_for", "route", "ssl_context"]


class Origin(NamedTuple):
    """Scheme, host and port: what a pooled connection is good for."""

    scheme: str
    host: str
    port: int


class Route(NamedTuple):
    """A URL taken apart for sending: its origin, request target and Host header."""

    origin: Origin
    target: str
    host_header: str


class Proxy(NamedTuple):
    """An HTTP proxy: where it listens, and its ``Proxy-Authorization`` (masked)."""

    origin: Origin
    authorization: Credential | None


class InvalidURL(ValueError):
    """A URL the transport cannot send to."""


@functools.lru_cache(maxsize=512)
def route(url: str) -> Route:
    """``url``'s origin, target and Host header (cached: an Endpoint sends few URLs).

    Raises:
        InvalidURL: not an absolute http(s) URL with a host.

    Example:
        >>> route("https://api.example.com/v1/chat?x=1")
        Route(origin=Origin(scheme='https', host='api.example.com', port=443), target='/v1/chat?x=1', host_header='api.example.com')
    """  # noqa: E501
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise InvalidURL(f"cannot send to {url!r}: {error}") from None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in ("http", "https") or not host:
        raise InvalidURL(f"cannot send to {url!r}: not an http:// or https:// URL with a host")
    if any(c in url for c in " \t\r\n\0"):
        raise InvalidURL(f"cannot send to {url!r}: it contains whitespace or control characters")
    default = 443 if scheme == "https" else 80
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port in (None, default) else f"{shown}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Route(Origin(scheme, host, port or default), target, host_header)


def proxy_for(origin: Origin) -> Proxy | None:
    """The proxy the environment names for ``origin``, or ``None`` to go direct.

    Raises:
        InvalidURL: the proxy variable is not an ``http://`` URL.
    """
    proxies = urllib.request.getproxies_environment()
    url = proxies.get(origin.scheme) or proxies.get("all")
    if not url or _bypass(origin.host, proxies):
        return None
    if "://" not in url:
        url = f"http://{url}"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise InvalidURL(
            f"the {origin.scheme} proxy must be an http:// URL (got scheme "
            f"{parts.scheme!r}); callboard speaks plain HTTP to a proxy"
        )
    authorization = None
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        authorization = Credential(token, prefix="Basic ")
    return Proxy(Origin("http", parts.hostname, parts.port or 80), authorization)


# NO_PROXY matching as urllib (and so curl's rules, mostly): untyped in typeshed.
_bypass: Callable[[str, dict[str, str]], bool] = getattr(  # noqa: B009
    urllib.request, "proxy_bypass_environment"
)


def ssl_context() -> ssl.SSLContext:
    """The process's TLS context for verifying servers (built once per CA setting)."""
    return _context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    if cafile or capath:
        context = ssl.create_default_context(cafile=cafile or None, capath=capath or None)
    else:
        context = ssl.create_default_context(cafile=_certifi_bundle())
    context.set_alpn_protocols(["http/1.1"])
    return context


def _certifi_bundle() -> str | None:
    """certifi's CA bundle when certifi is installed (it is optional), else None."""
    try:
        module = importlib.import_module("certifi")
    except ImportError:
        return None
    where: Callable[[], str] = module.where
    return where()
