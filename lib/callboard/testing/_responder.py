"""How the fake provider answers one request, as OpenAI and Anthropic would.

In order: the route, the method, the credentials and the body are checked (each refused
with the status and error body the real API uses); then the fault plan may answer with
an error, a 502 page or a stall; then the key's rate limits admit the request or refuse
it with a 429 and retry headers (see ``Enforcement`` for how
harshly); then the reply goes out, a JSON body or an SSE stream, cut short or corrupted
if the fault says so. However the delivery ends, the request is settled with its limits
(output tokens charged, unused ``max_tokens`` refunded unless the charging says not).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import trio

from . import _clock
from ._auth import authenticate
from ._cache import PromptCache
from ._enforcement import Enforcement
from ._fault_plan import FaultPlan
from ._faults import Fault, FaultKind
from ._http import Connection, ConnectionDone, HttpRequest
from ._ratelimit import Admission, Cost, KeyLimits, Rejection
from ._ratelimit_headers import rate_limit_headers, retry_headers
from ._recording import RecordedRequest, RequestLog
from ._request import RouteContext
from ._routes import ROUTES, Route
from ._wire import BadRequest, Body, Family, Prepared, Sse, error_reply

__all__ = ["Responder"]

_HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


class Responder:
    """Answers the requests of one ``FakeProvider``, keeping each key's buckets.

    ``started_at`` is the trio time the provider started serving: the wall clock of
    ``Date``, ``created`` and resets is ``epoch`` plus the trio time since then.
    """

    def __init__(
        self,
        *,
        keys: frozenset[str],
        models: frozenset[str] | None,
        limits: dict[str, int | None],
        enforcement: Enforcement,
        seed: int,
        plan: FaultPlan,
        epoch: datetime,
        log: RequestLog,
        signing_key: bytes,
    ) -> None:
        self._keys = keys
        self._signing_key = signing_key
        self._models = models
        self._per_minute = limits
        self._enforcement = enforcement
        self._seed = seed
        self._plan = plan
        self._epoch = epoch
        self._log = log
        self._limits: dict[str, KeyLimits] = {}
        self._caches: dict[str, PromptCache] = {}
        self._in_flight = 0
        self.started_at = 0.0

    async def exchange(self, connection: Connection, request: HttpRequest) -> None:
        """Record ``request``, answer it on ``connection`` and count it while in flight."""
        route = ROUTES.get(request.path)
        family: Family = route.family if route else "openai"
        key, auth_error = authenticate(family, request, self._keys)
        record = self._log.record(request, key)
        self._in_flight += 1
        if self._in_flight > self._log.stats.peak_concurrent:
            self._log.bump(peak_concurrent=self._in_flight)
        try:
            await self._respond(connection, request, record, route, key, auth_error)
        finally:
            self._in_flight -= 1

    def base_headers(self, body: Body | None, family: Family = "openai") -> list[tuple[str, str]]:
        """``Date`` and ``Server``, plus ``body``'s content type and own headers."""
        _, wall = self._now()
        headers = [("date", _clock.http_date(wall)), ("server", "callboard-fake-provider")]
        if body is not None:
            headers.append(("content-type", body.content_type))
            headers += body.headers
        return headers

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
            prefer=request.header("prefer") or "",
            cache=self._caches.setdefault(key, PromptCache()),
            now=trio.current_time(),
            signing_key=self._signing_key,
        )
        try:
            try:
                prepared = route.handler(request.body, context)
            except RecursionError:
                raise BadRequest(400, "The request body is nested too deeply.") from None
        except BadRequest as exc:
            body = error_reply(family, exc.status, exc.message, param=exc.param, code=exc.code)
            await self._send(connection, record, body, family, key, request_id)
            return

        fault = self._plan.next_fault(route.path)
        if fault is not None and fault.stream_only and not isinstance(prepared.reply, Sse):
            fault = None
        record.fault = fault
        if fault is not None:
            self._log.count_fault(fault.label)
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
        cost = self._cost(prepared)
        if fault is not None and fault.kind is FaultKind.RATE_LIMITED:
            wait = fault.seconds if fault.seconds is not None else 1.0
            verdict: Admission | Rejection = Rejection(wait, "requests")
        else:
            verdict = limits.admit(cost, now)
        if isinstance(verdict, Rejection):
            await self._rate_limited(connection, record, family, key, verdict, prepared, request_id)
            return
        self._log.bump(
            admitted=self._log.stats.admitted + 1,
            tokens_charged=self._log.stats.tokens_charged + prepared.charge,
            first_admission=self._log.stats.first_admission
            if self._log.stats.first_admission is not None
            else now,
            last_admission=now,
        )
        try:
            await _sleep(delay)
            await self._deliver(connection, record, route, family, key, prepared, fault, request_id)
        finally:
            refund = limits.settle(cost, trio.current_time())
            self._log.bump(tokens_refunded=self._log.stats.tokens_refunded + refund)

    def _cost(self, prepared: Prepared) -> Cost:
        output = prepared.output_tokens
        input_tokens = prepared.used - output
        if not self._enforcement.cache_reads_count:
            input_tokens -= prepared.cache_read_tokens
        return Cost(
            tokens=prepared.charge,
            tokens_used=prepared.used,
            input_tokens=max(0, input_tokens),
            output_tokens=output,
        )

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
        self._log.bump(rate_limited=self._log.stats.rate_limited + 1)
        what = verdict.limited_by.replace("_", " ")
        limit = self._per_minute.get(verdict.limited_by)
        retry = self._enforcement.retry_after
        if verdict.retry_after is None:
            message = (
                f"Request too large: it needs more {what} than the limit of {limit} "
                f"{what} per minute. Reduce the prompt or max_tokens."
            )
            body = error_reply(family, 429, message, code="rate_limit_exceeded")
            extra = [*request_id, *([("x-should-retry", "false")] if retry else [])]
        else:
            message = (
                f"Rate limit reached for {what} per minute (limit {limit}). "
                f"Please try again in {_clock.go_duration(verdict.retry_after)}."
            )
            body = error_reply(family, 429, message, code="rate_limit_exceeded")
            extra = [*request_id, *(retry_headers(verdict.retry_after) if retry else [])]
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
                *self.base_headers(reply, family),
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
                else HOSTILE_JSON
                if kind is FaultKind.HOSTILE_BODY
                else reply.data
            )
            await connection.send_body(reply.status, headers, data)
        else:
            await self._deliver_stream(
                connection, record, route, family, key, reply, kind, request_id
            )
        if fault is None:
            self._log.bump(succeeded=self._log.stats.succeeded + 1)

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
            *self.base_headers(head, family),
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
        elif kind is FaultKind.HOSTILE_BODY:
            frames = [*frames[:middle], b"data: " + HOSTILE_JSON + b"\n\n", *frames[middle:]]
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
        headers = self.base_headers(body, family)
        headers += self._limit_headers(family, key, body.status)
        headers += extra
        if 400 <= body.status < 500 and body.status != 429:
            self._log.bump(rejected=self._log.stats.rejected + 1)
        await connection.send_body(body.status, headers, body.data)

    def _limit_headers(
        self, family: Family, key: str | None, status: int = 200
    ) -> list[tuple[str, str]]:
        mode = self._enforcement.headers
        if key is None or mode == "never" or (mode == "on_429" and status != 429):
            return []
        now, wall = self._now()
        return rate_limit_headers(family, self._key_limits(key).views(now), wall)

    def _request_id_header(self, family: Family, record: RecordedRequest) -> tuple[str, str]:
        name = "request-id" if family == "anthropic" else "x-request-id"
        return name, f"req_{record.number:012d}"

    def _key_limits(self, key: str) -> KeyLimits:
        if key not in self._limits:
            self._limits[key] = KeyLimits(
                self._per_minute,
                self._enforcement,
                trio.current_time(),
                seed=f"{self._seed}:{key}",
            )
        return self._limits[key]

    @property
    def foreign_requests(self) -> int:
        """Requests someone else on the keys made so far (``Enforcement.foreign_share``)."""
        return sum(limits.foreign_requests for limits in self._limits.values())

    def _now(self) -> tuple[float, datetime]:
        now = trio.current_time()
        return now, _clock.wall_clock(self._epoch, now - self.started_at)


HOSTILE_JSON = b"[" * 1100 + b"]" * 1100
"""Valid JSON nested 1,100 levels deep: what a ``HOSTILE_BODY`` fault sends."""


async def _sleep(seconds: float) -> None:
    if seconds > 0:
        await trio.sleep(seconds)
