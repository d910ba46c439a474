"""Transport: the one extension point between an Endpoint and the wire.

An Endpoint builds a [`ProviderRequest`][callboard.ProviderRequest] (URL, headers, body)
from its provider spec, hands it to its transport, and reads the answer back through the
provider's dialect. The transport only moves bytes: it knows nothing about retries,
circuit breakers, rate limits or response shapes, so every transport gets all of those
for free and retries stay in exactly one layer (the Endpoint's ``RetryPolicy``).

A transport lives as long as one run of its Endpoint actor: ``open_transport``
opens it when the actor starts (one pooled client) and closes it when the actor stops or
crashes, so a restarted actor gets a fresh client.

Writing a transport (the ``sdk`` one is an example): implement ``Transport`` and
register an opener with [`register_transport`][callboard.register_transport]::

    @asynccontextmanager
    async def open_mine(settings: TransportSettings) -> AsyncIterator[Transport]:
        client = make_client(max_connections=settings.max_connections)
        try:
            yield MyTransport(client)
        finally:
            await client.aclose()

    register_transport("mine", open_mine)

Errors: a transport raises [`Timeout`][callboard.Timeout] when no answer came in
time and [`ConnectionFailed`][callboard.ConnectionFailed] when the connection could not
be made or broke (before or during a body or stream). It never raises for an HTTP error
status: it returns the status, headers and body, and the Endpoint types the error.
Anything else it raises is a bug, and crashes the Endpoint actor (whose supervisor
restarts it with a fresh transport).
"""

from __future__ import annotations

import importlib
import math
import ssl
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol

import attrs

from callboard.errors import ConfigError

from ._secret import Secret

if TYPE_CHECKING:  # providers import services: a runtime import would be a cycle
    from callboard.providers import ProviderRequest

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "SSEEvent",
    "Timeouts",
    "Transport",
    "TransportOpener",
    "TransportResponse",
    "TransportSettings",
    "TransportStream",
    "is_builtin",
    "known_transports",
    "open_transport",
    "register_transport",
    "unregister_transport",
]


DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
"""The largest response body (after decompression) the ``http`` transport accepts."""


def _phase(value: object) -> bool:
    return value is None or (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


@attrs.frozen(kw_only=True)
class Timeouts:
    """Deadlines for each phase of one HTTP exchange, in seconds.

    A phase left ``None`` takes the endpoint's ``timeout`` (which may itself be ``None``:
    no deadline). The ``http`` transport applies every phase; the ``httpx`` one maps
    them onto httpx2's connect / write / read timeouts (first byte and between chunks
    are both httpx2's read timeout there, the larger of the two).

    Attributes:
        connect: to open the connection (TCP, a proxy's CONNECT, the TLS handshake).
        write: to send the whole request.
        first_byte: from the request sent to the response's status line and headers
            (what a slow, non-streamed completion spends thinking).
        between_chunks: between two pieces of the body or the event stream.

    Raises:
        ConfigError: a value that is not a positive finite number or None.

    Example:
        >>> Timeouts(connect=5, first_byte=300).resolve(60.0)
        (5, 60.0, 300, 60.0)
    """

    connect: float | None = None
    write: float | None = None
    first_byte: float | None = None
    between_chunks: float | None = None

    def __attrs_post_init__(self) -> None:
        for name in ("connect", "write", "first_byte", "between_chunks"):
            if not _phase(getattr(self, name)):
                raise ConfigError(
                    f"Timeouts.{name} must be a positive finite number of seconds or None "
                    f"(the endpoint's timeout), got {getattr(self, name)!r}",
                    field=f"timeouts.{name}",
                )

    def resolve(
        self, timeout: float | None
    ) -> tuple[float | None, float | None, float | None, float | None]:
        """(connect, write, first_byte, between_chunks), ``timeout`` filling the gaps."""

        def pick(value: float | None) -> float | None:
            return timeout if value is None else value

        return (
            pick(self.connect),
            pick(self.write),
            pick(self.first_byte),
            pick(self.between_chunks),
        )


@attrs.frozen
class TransportSettings:
    """What a transport is opened with (the Endpoint derives it from its config).

    Attributes:
        timeout: seconds for connecting, and between bytes of an answer; ``None`` waits
            forever (use it under ``MockClock``, where any deadline fires at once).
        max_connections: the connection pool's size, ``None`` for no cap; the Endpoint
            sizes it to the concurrency of the Executor in front of it (or the user's
            ``max_connections``).
        base_url: the provider's API root (an SDK client wants it; the HTTP transport
            uses each request's full URL).
        api_key: the resolved key, for transports whose client insists on holding it;
            requests carry it in ``auth_headers`` too.
        provider: the provider's name, for error messages.
        timeouts: per-phase deadlines; unset phases take ``timeout``.
        max_response_bytes: the largest body accepted, after decompression.
        ssl_context: verifies servers; ``None`` uses the process's one context (see
            the ``http`` transport).
        dialect: the provider's wire dialect (``"openai"``, ``"anthropic"``); the
            ``sdk`` transport drives the SDK that speaks it (Anthropic's when unset).
        client_kwargs: keywords for the SDK client's constructor (the ``sdk``
            transport), text values kept as Secrets.
    """

    timeout: float | None = 60.0
    max_connections: int | None = None
    base_url: str = ""
    api_key: Secret | None = attrs.field(default=None, repr=False)
    provider: str | None = None
    timeouts: Timeouts = attrs.field(factory=Timeouts)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    ssl_context: ssl.SSLContext | None = attrs.field(default=None, repr=False, eq=False)
    dialect: str | None = None
    client_kwargs: Mapping[str, object] = attrs.field(factory=dict[str, object], repr=False)


@attrs.frozen
class TransportResponse:
    """A complete answer: status, headers (lower-cased names) and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes = attrs.field(repr=False)


@attrs.frozen(slots=True)
class SSEEvent:
    """One server-sent event: its ``event`` name (``"message"`` when unnamed) and data."""

    event: str
    data: str


class TransportStream(Protocol):
    """An answer being streamed: status and headers now, the events as they come.

    For a non-2xx status the Endpoint calls ``read()`` for the error body instead of
    iterating events.
    """

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]:
        """Response headers with lower-cased names."""
        ...

    async def read(self) -> bytes:
        """The whole body (used for error responses)."""
        ...

    def events(self) -> AsyncGenerator[SSEEvent]:
        """The server-sent events in order; ends when the server ends the stream.

        An async generator (the Endpoint closes it with ``contextlib.aclosing``).

        Raises:
            ConnectionFailed: the stream broke (the Endpoint turns it into
                ``StreamInterrupted`` with the text received so far).
            Timeout: no byte arrived within the read timeout.
        """
        ...


class Transport(Protocol):
    """Sends provider requests; one instance per Endpoint actor run.

    Both methods are called concurrently from many tasks (one per Calling in flight).
    """

    async def send(self, request: ProviderRequest) -> TransportResponse:
        """Send ``request`` and read the complete answer, whatever its status.

        Raises:
            Timeout: no answer in time.
            ConnectionFailed: no connection, or it broke.
        """
        ...

    def stream(self, request: ProviderRequest) -> AbstractAsyncContextManager[TransportStream]:
        """Send ``request`` and open its answer as a stream of server-sent events.

        Leaving the context closes the response (a cancelled reader stops the download).

        Raises:
            Timeout: no answer in time.
            ConnectionFailed: no connection, or it broke.
        """
        ...


TransportOpener = Callable[[TransportSettings], AbstractAsyncContextManager[Transport]]
"""Opens a transport for one Endpoint actor run and closes it at the end."""

_OPENERS: dict[str, TransportOpener] = {}

# Built-in transports, imported on first use so an optional dependency (the anthropic
# SDK) is only needed by those who choose it: name -> (module, opener attribute).
_BUILTIN: dict[str, tuple[str, str]] = {
    "http": ("callboard.endpoint._transport_http", "open_http_transport"),
    "httpx": ("callboard.endpoint._transport_httpx", "open_httpx_transport"),
    "sdk": ("callboard.endpoint._transport_sdk", "open_sdk_transport"),
}


def register_transport(name: str, opener: TransportOpener) -> None:
    """Make ``EndpointConfig(transport=name)`` open transports with ``opener``.

    Registering a name again replaces the opener (tests register stand-ins this way).
    """
    _OPENERS[name] = opener


def unregister_transport(name: str) -> None:
    """Forget a transport registered with ``register_transport`` (built-ins stay).

    Raises:
        ConfigError: ``name`` was never registered.
    """
    if _OPENERS.pop(name, None) is None:
        raise ConfigError(
            f"transport {name!r} is not registered; registered: "
            f"{', '.join(sorted(_OPENERS)) or 'none'}",
            field="transport",
        )


def is_builtin(name: str) -> bool:
    """Whether ``name`` opens callboard's own transport (none registered over it)."""
    if name not in _BUILTIN:
        return False
    opener = _OPENERS.get(name)
    module_name, attribute = _BUILTIN[name]
    return opener is None or (
        getattr(opener, "__module__", None) == module_name
        and getattr(opener, "__name__", None) == attribute
    )


def known_transports() -> tuple[str, ...]:
    """The transport names an EndpointConfig accepts, sorted."""
    return tuple(sorted({*_BUILTIN, *_OPENERS}))


def _opener(name: str) -> TransportOpener:
    opener = _OPENERS.get(name)
    if opener is not None:
        return opener
    if name not in _BUILTIN:
        raise ConfigError(
            f"unknown transport {name!r}; known transports: {', '.join(known_transports())}",
            field="transport",
        )
    module_name, attribute = _BUILTIN[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(
            f"transport {name!r} is not available ({error}); install callboard[anthropic] "
            "or callboard[openai] for the sdk transport, or use transport='http'",
            field="transport",
        ) from None
    found: TransportOpener = getattr(module, attribute)
    _OPENERS[name] = found
    return found


def open_transport(
    name: str, settings: TransportSettings
) -> AbstractAsyncContextManager[Transport]:
    """Open the transport registered as ``name``: ``async with open_transport(...) as t``.

    Raises:
        ConfigError: no transport has that name, or its dependency is not installed.
    """
    return _opener(name)(settings)
