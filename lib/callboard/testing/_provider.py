"""The fake provider: a loopback HTTP server speaking OpenAI's and Anthropic's APIs."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from types import TracebackType

import attrs
import trio

from callboard.errors import ConfigError

from . import _clock
from ._auth import authenticate
from ._fault_plan import FaultPlan
from ._faults import Fault, FaultKind, Latency, RouteFaults
from ._http import Connection, ConnectionDone, HttpRequest, ProtocolError
from ._ratelimit import Admission, KeyLimits, Rejection
from ._ratelimit_headers import rate_limit_headers, retry_headers
from ._recording import FakeProviderStats, RecordedRequest, mask_headers
from ._request import RouteContext
from ._routes import DEFAULT_MODELS, ROUTES, Route
from ._wire import BadRequest, Body, Family, Prepared, Sse, error_reply

__all__ = ["DEFAULT_EPOCH", "FakeProvider"]

DEFAULT_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
"""The calendar time at which a provider's trio clock starts, unless told otherwise."""

_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def _check_limit(name: str, value: object) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(
            f"FakeProvider {name} must be None or an int >= 1, got {value!r}", field=name
        )
    return value  # pyright: ignore[reportReturnType]


class FakeProvider:
    """A real HTTP server on 127.0.0.1 that answers like OpenAI and Anthropic.

    Use it as an async context manager: it binds a free port, serves in a nursery it
    opens inside the ``async with`` (so in your task tree) and, on exit, cancels every
    connection, even one in the middle of a stream. Point any HTTP client or SDK at
    :attr:`base_url`.

    Args:
        keys: API keys it accepts (Bearer for OpenAI routes, ``x-api-key`` for
            ``/v1/messages``); each key has its own buckets.
        rpm: requests per minute per key (``None``: unlimited).
        tpm: tokens per minute per key (``None``: unlimited), charged prompt estimate
            plus ``max_tokens`` on admission and refunded to actual output afterwards.
        latency: delay before every response (a route's :class:`RouteFaults` may
            override it).
        faults: random faults per route path, ``"*"`` for every route.
        seed: seeds the fault and latency draws.
        models: model names it serves (others get a 400); defaults to current
            OpenAI, Anthropic and reranker names plus ``"fake-model"``.
        host, port: where to listen (port 0 picks a free one).
        epoch: the calendar time at trio-clock start, for ``Date``, ``created`` and
            RFC 3339 resets (deterministic by default).
        max_body_bytes: larger request bodies get a 413.

    Raises:
        ConfigError: an argument is invalid.

    Example::

        async with FakeProvider(rpm=60) as fp:
            async with httpx2.AsyncClient(base_url=fp.base_url) as client:
                r = await client.post(
                    "/v1/chat/completions",
                    headers={"authorization": "Bearer test-key"},
                    json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
                )
            assert fp.stats.succeeded == 1
    """

    def __init__(
        self,
        *,
        keys: Iterable[str] = ("test-key",),
        rpm: int | None = None,
        tpm: int | None = None,
        latency: Latency = Latency(),  # noqa: B008 - frozen value
        faults: Mapping[str, RouteFaults] | None = None,
        seed: int = 0,
        models: Iterable[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        epoch: datetime = DEFAULT_EPOCH,
        max_body_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        if isinstance(keys, str):
            raise ConfigError(
                "FakeProvider keys must be a list of keys, not one string", field="keys"
            )
        self._keys = frozenset(keys)
        if not self._keys or not all(isinstance(k, str) and k for k in self._keys):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError(
                "FakeProvider keys must be at least one non-empty string", field="keys"
            )
        self._rpm = _check_limit("rpm", rpm)
        self._tpm = _check_limit("tpm", tpm)
        if not isinstance(latency, Latency):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError("FakeProvider latency must be a Latency", field="latency")
        self._plan = FaultPlan(faults or {}, latency, seed)
        self._models = DEFAULT_MODELS if models is None else frozenset(models)
        if not 0 <= port <= 65535:
            raise ConfigError(f"FakeProvider port must be in 0..65535, got {port}", field="port")
        if epoch.tzinfo is None:
            raise ConfigError("FakeProvider epoch must be timezone-aware", field="epoch")
        self._host, self._port, self._epoch = host, port, epoch
        self._max_body_bytes = max_body_bytes
        self._limits: dict[str, KeyLimits] = {}
        self._requests: list[RecordedRequest] = []
        self._stats = FakeProviderStats()
        self._in_flight = 0
        self._waiters: list[tuple[int, trio.Event]] = []
        self._started_at = 0.0
        self._lifetime: AbstractAsyncContextManager[None] | None = None

    # -- public surface ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` once started (add ``/v1`` for the OpenAI SDK)."""
        return f"http://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """The bound port (the free one picked when ``port=0``)."""
        return self._port

    @property
    def stats(self) -> FakeProviderStats:
        """A snapshot of the counters."""
        return self._stats

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        """Every request received so far, in arrival order."""
        return tuple(self._requests)

    def script(self, route: str, faults: Sequence[Fault | None]) -> None:
        """Make the next ``len(faults)`` valid requests to ``route`` get these faults.

        ``None`` in the list means "answer normally". ``route`` is a path such as
        ``"/v1/messages"`` or ``"*"`` for any route; a route's own script is used before
        the ``"*"`` script, and both before the random faults. Requests rejected before
        a fault could apply (bad key, bad body) do not consume the script.

        Raises:
            ConfigError: ``route`` is not a served path or ``"*"``.
        """
        self._plan.script(route, faults)

    async def wait_received(self, count: int) -> None:
        """Wait until the provider has received ``count`` requests in total."""
        if self._stats.received >= count:
            await trio.lowlevel.checkpoint()
            return
        event = trio.Event()
        self._waiters.append((count, event))
        await event.wait()

    # -- lifetime ----------------------------------------------------------------------

    async def __aenter__(self) -> FakeProvider:
        if self._lifetime is not None:
            raise ConfigError("this FakeProvider is already running; create another one")
        manager = self._run()
        await manager.__aenter__()
        self._lifetime = manager
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        manager = self._lifetime
        assert manager is not None, "FakeProvider.__aexit__ without __aenter__"
        self._lifetime = None
        return await manager.__aexit__(exc_type, exc, tb)

    @asynccontextmanager
    async def _run(self) -> AsyncGenerator[None]:
        # The caller's exception is re-raised outside the nursery so it is not wrapped in
        # an ExceptionGroup: leaving the ``async with`` behaves as if no nursery existed.
        error: BaseException | None = None
        # Bind before the nursery exists, so "address in use" is a plain OSError.
        listeners = await trio.open_tcp_listeners(self._port, host=self._host)
        self._port = listeners[0].socket.getsockname()[1]
        self._started_at = trio.current_time()
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, self._serve_connection, listeners)
            try:
                yield
            except BaseException as exc:
                error = exc
            finally:
                nursery.cancel_scope.cancel()
        if error is not None:
            raise error

    # -- serving -----------------------------------------------------------------------

    def _now(self) -> tuple[float, datetime]:
        now = trio.current_time()
        return now, _clock.wall_clock(self._epoch, now - self._started_at)

    async def _serve_connection(self, stream: trio.SocketStream) -> None:
        connection = Connection(stream, self._max_body_bytes)
        try:
            while True:
                try:
                    request = await connection.next_request()
                except ProtocolError as exc:
                    if connection.can_respond:
                        body = error_reply("openai", exc.status, str(exc))
                        await connection.send_body(body.status, self._base_headers(body), body.data)
                    return
                if request is None:
                    return
                await self._exchange(connection, request)
                if not connection.reusable:
                    return
        except (ConnectionDone, trio.BrokenResourceError, trio.ClosedResourceError):
            return
        finally:
            await connection.aclose()

    def _base_headers(self, body: Body | None, family: Family = "openai") -> list[tuple[str, str]]:
        _, wall = self._now()
        headers = [("date", _clock.http_date(wall)), ("server", "callboard-fake-provider")]
        if body is not None:
            headers.append(("content-type", body.content_type))
            headers += body.headers
        return headers

    def _record(self, request: HttpRequest, key: str | None) -> RecordedRequest:
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            headers=mask_headers(request.headers),
            body=request.body,
            arrival=trio.current_time(),
            key=key,
            number=len(self._requests) + 1,
        )
        self._requests.append(record)
        received = self._stats.received + 1
        self._bump(received=received)
        for count, event in self._waiters:
            if count <= received:
                event.set()
        self._waiters = [(c, e) for c, e in self._waiters if not e.is_set()]
        return record

    def _bump(self, **changes: int | float | None) -> None:
        self._stats = attrs.evolve(self._stats, **changes)  # pyright: ignore[reportArgumentType]

    def _key_limits(self, key: str) -> KeyLimits:
        if key not in self._limits:
            self._limits[key] = KeyLimits(self._rpm, self._tpm, trio.current_time())
        return self._limits[key]

    async def _send(
        self,
        connection: Connection,
        record: RecordedRequest,
        body: Body,
        family: Family,
        key: str | None = None,
        extra: Iterable[tuple[str, str]] = (),
    ) -> None:
        record.status = body.status
        headers = self._base_headers(body, family)
        headers += self._limit_headers(family, key)
        headers += extra
        if 400 <= body.status < 500 and body.status != 429:
            self._bump(rejected=self._stats.rejected + 1)
        await connection.send_body(body.status, headers, body.data)

    def _limit_headers(self, family: Family, key: str | None) -> list[tuple[str, str]]:
        if key is None:
            return []
        now, wall = self._now()
        requests, tokens = self._key_limits(key).view(now)
        return rate_limit_headers(family, requests, tokens, wall)

    def _request_id_header(self, family: Family, record: RecordedRequest) -> tuple[str, str]:
        name = "request-id" if family == "anthropic" else "x-request-id"
        return name, f"req_{record.number:012d}"

    async def _exchange(self, connection: Connection, request: HttpRequest) -> None:
        route = ROUTES.get(request.path)
        family: Family = route.family if route else "openai"
        key, auth_error = authenticate(family, request, self._keys)
        record = self._record(request, key)
        self._in_flight += 1
        if self._in_flight > self._stats.peak_concurrent:
            self._bump(peak_concurrent=self._in_flight)
        try:
            await self._respond(connection, request, record, route, key, auth_error)
        finally:
            self._in_flight -= 1

    async def _respond(
        self,
        connection: Connection,
        request: HttpRequest,
        record: RecordedRequest,
        route: Route | None,
        key: str | None,
        auth_error: Body | None,
    ) -> None:
        if route is None:
            message = f"Invalid URL ({request.method} {request.path})"
            await self._send(connection, record, error_reply("openai", 404, message), "openai")
            return
        family = route.family
        request_id = [self._request_id_header(family, record)]
        if request.method != "POST":
            message = f"Method {request.method} not allowed on {request.path}; use POST."
            body = error_reply(family, 405, message)
            await self._send(connection, record, body, family, key, request_id)
            return
        if auth_error is not None or key is None:
            assert auth_error is not None
            await self._send(connection, record, auth_error, family, key, request_id)
            return
        _, wall = self._now()
        context = RouteContext(
            models=self._models,
            created=int(wall.timestamp()),
            number=record.number,
            content_type=request.header("content-type") or "",
        )
        try:
            prepared = route.handler(request.body, context)
        except BadRequest as exc:
            body = error_reply(family, exc.status, exc.message, param=exc.param, code=exc.code)
            await self._send(connection, record, body, family, key, request_id)
            return

        fault = self._plan.next_fault(route.path)
        if fault is not None and fault.stream_only and not isinstance(prepared.reply, Sse):
            fault = None
        record.fault = fault
        if fault is not None:
            self._bump(faulted=self._stats.faulted + 1)
        delay = self._plan.delay(route.path)

        if fault is not None and fault.kind is FaultKind.STALL:
            with trio.move_on_after(fault.seconds if fault.seconds is not None else float("inf")):
                await connection.wait_closed()
                raise ConnectionDone  # the client gave up: nothing left to answer
            fault = None
        if fault is not None and fault.kind in (FaultKind.ERROR, FaultKind.HTML_502):
            await _sleep(delay)
            if fault.kind is FaultKind.HTML_502:
                body = Body(502, "text/html", _HTML_502)
            else:
                message = "Overloaded" if fault.status == 529 else "Injected fault."
                body = error_reply(family, fault.status, message)
            extra = list(request_id)
            if fault.should_retry is not None:
                extra.append(("x-should-retry", "true" if fault.should_retry else "false"))
            await self._send(connection, record, body, family, key, extra)
            return

        limits = self._key_limits(key)
        now = trio.current_time()
        if fault is not None and fault.kind is FaultKind.RATE_LIMITED:
            verdict: Admission | Rejection = Rejection(1.0, "requests")
        else:
            verdict = limits.admit(prepared.charge, now)
        if isinstance(verdict, Rejection):
            await self._rate_limited(connection, record, family, key, verdict, prepared, request_id)
            return
        self._bump(
            admitted=self._stats.admitted + 1,
            tokens_charged=self._stats.tokens_charged + prepared.charge,
            first_admission=self._stats.first_admission
            if self._stats.first_admission is not None
            else now,
            last_admission=now,
        )
        try:
            await _sleep(delay)
            await self._deliver(connection, record, route, family, key, prepared, fault, request_id)
        finally:
            refund = prepared.charge - prepared.used
            limits.refund(refund, trio.current_time())
            self._bump(tokens_refunded=self._stats.tokens_refunded + refund)

    async def _rate_limited(
        self,
        connection: Connection,
        record: RecordedRequest,
        family: Family,
        key: str,
        verdict: Rejection,
        prepared: Prepared,
        request_id: list[tuple[str, str]],
    ) -> None:
        self._bump(rate_limited=self._stats.rate_limited + 1)
        if verdict.retry_after is None:
            message = (
                f"Request too large: it needs {prepared.charge} tokens but the limit is "
                f"{self._tpm} tokens per minute. Reduce the prompt or max_tokens."
            )
            body = error_reply(family, 429, message, code="rate_limit_exceeded")
            extra = [*request_id, ("x-should-retry", "false")]
        else:
            message = (
                f"Rate limit reached for {verdict.limited_by} per minute. "
                f"Please try again in {_clock.go_duration(verdict.retry_after)}."
            )
            body = error_reply(family, 429, message, code="rate_limit_exceeded")
            extra = [*request_id, *retry_headers(verdict.retry_after)]
        await self._send(connection, record, body, family, key, extra)

    async def _deliver(
        self,
        connection: Connection,
        record: RecordedRequest,
        route: Route,
        family: Family,
        key: str,
        prepared: Prepared,
        fault: Fault | None,
        request_id: list[tuple[str, str]],
    ) -> None:
        reply = prepared.reply
        kind = fault.kind if fault is not None else None
        if isinstance(reply, Body):
            headers = [
                *self._base_headers(reply, family),
                *self._limit_headers(family, key),
                *request_id,
            ]
            record.status = reply.status
            if kind is FaultKind.RESET:
                await connection.send_part_then_reset(
                    reply.status, headers, reply.data, len(reply.data) // 2
                )
                raise ConnectionDone
            data = (
                reply.data[: len(reply.data) // 2]
                if kind is FaultKind.MALFORMED_JSON
                else reply.data
            )
            await connection.send_body(reply.status, headers, data)
        else:
            await self._deliver_stream(
                connection, record, route, family, key, reply, kind, request_id
            )
        if fault is None:
            self._bump(succeeded=self._stats.succeeded + 1)

    async def _deliver_stream(
        self,
        connection: Connection,
        record: RecordedRequest,
        route: Route,
        family: Family,
        key: str,
        reply: Sse,
        kind: FaultKind | None,
        request_id: list[tuple[str, str]],
    ) -> None:
        head = Body(200, "text/event-stream; charset=utf-8", b"", (("cache-control", "no-cache"),))
        headers = [
            *self._base_headers(head, family),
            *self._limit_headers(family, key),
            *request_id,
        ]
        record.status = 200
        frames = list(reply.frames)
        middle = (len(frames) - reply.tail) // 2
        if kind is FaultKind.TRUNCATED_SSE:
            frames = frames[: len(frames) - reply.tail]
        elif kind is FaultKind.SSE_ERROR:
            frames = [*frames[:middle], reply.error_frame]
        elif kind is FaultKind.RESET:
            frames = frames[:middle]
        pause = self._plan.per_chunk(route.path)
        await connection.start_stream(200, headers)
        for index, frame in enumerate(frames):
            if index and pause:
                await trio.sleep(pause)
            await connection.send_chunk(frame)
        if kind is FaultKind.RESET:
            connection.reset()
            raise ConnectionDone
        if kind is FaultKind.TRUNCATED_SSE:
            raise ConnectionDone  # closing now leaves the chunked body unterminated
        await connection.end_stream()


async def _sleep(seconds: float) -> None:
    if seconds > 0:
        await trio.sleep(seconds)
