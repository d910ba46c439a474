"""The fake provider: a loopback HTTP server speaking OpenAI's and Anthropic's APIs.

This module is the server: its configuration, its lifetime (bind a port, serve in a
nursery inside the caller's ``async with``, cancel every connection on exit) and the
loop that reads a connection's requests one after another. What each request gets back
is the ``Responder``'s business; what was received is kept in a ``RequestLog``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from types import TracebackType

import trio

from callboard.errors import ConfigError

from ._enforcement import Enforcement
from ._fault_plan import FaultPlan
from ._faults import Fault, Latency, RouteFaults
from ._http import Connection, ConnectionDone, ProtocolError
from ._recording import FakeProviderStats, RecordedRequest, RequestLog
from ._responder import Responder
from ._wire import error_reply

__all__ = ["DEFAULT_EPOCH", "FakeProvider"]

DEFAULT_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
"""The calendar time at which a provider's trio clock starts, unless told otherwise."""


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
    ``base_url``.

    Args:
        keys: API keys it accepts (Bearer for OpenAI routes, ``x-api-key`` for
            ``/v1/messages``); each key has its own buckets.
        rpm: requests per minute per key (``None``: unlimited).
        tpm: tokens per minute per key (``None``: unlimited), charged prompt estimate
            plus ``max_tokens`` on admission and, by default, refunded to actual output
            afterwards (``enforcement.charging``).
        itpm: uncached input tokens per minute per key, Anthropic's ITPM (``None``:
            unlimited): charged on admission; prompt-cache reads do not count unless
            ``enforcement.cache_reads_count``.
        otpm: output tokens per minute per key, Anthropic's OTPM (``None``: unlimited):
            a request needs a positive balance and is charged the output it produced.
        enforcement: how the limits are enforced: windows shorter than a minute,
            charging, foreign traffic on the key, which headers are sent
            (``Enforcement``; the default is one full-minute bucket per limit,
            unused tokens refunded, every header sent).
        latency: delay before every response (a route's ``RouteFaults`` may
            override it).
        faults: random faults per route path, ``"*"`` for every route.
        seed: seeds the fault and latency draws, and the key that signs thinking
            blocks (two providers with one seed accept each other's blocks).
        models: an allow-list of the model names it serves; any other name gets the
            404 ``not_found_error`` (OpenAI: ``model_not_found``) the real APIs send.
            ``None`` (the default) serves any name; ``DEFAULT_MODELS`` lists
            current OpenAI, Anthropic and reranker names.
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
        itpm: int | None = None,
        otpm: int | None = None,
        enforcement: Enforcement = Enforcement(),  # noqa: B008 - frozen value
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
        accepted = frozenset(keys)
        if not accepted or not all(isinstance(k, str) and k for k in accepted):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError(
                "FakeProvider keys must be at least one non-empty string", field="keys"
            )
        limits = {
            "requests": _check_limit("rpm", rpm),
            "tokens": _check_limit("tpm", tpm),
            "input_tokens": _check_limit("itpm", itpm),
            "output_tokens": _check_limit("otpm", otpm),
        }
        if not isinstance(enforcement, Enforcement):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError(
                "FakeProvider enforcement must be an Enforcement", field="enforcement"
            )
        if not isinstance(latency, Latency):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ConfigError("FakeProvider latency must be a Latency", field="latency")
        self._plan = FaultPlan(faults or {}, latency, seed)
        if isinstance(models, str):
            raise ConfigError(
                "FakeProvider models must be a list of model names, not one string",
                field="models",
            )
        served = None if models is None else frozenset(models)
        if not 0 <= port <= 65535:
            raise ConfigError(f"FakeProvider port must be in 0..65535, got {port}", field="port")
        if epoch.tzinfo is None:
            raise ConfigError("FakeProvider epoch must be timezone-aware", field="epoch")
        self._host, self._port = host, port
        self._max_body_bytes = max_body_bytes
        self._log = RequestLog()
        self._responder = Responder(
            keys=accepted,
            models=served,
            limits=limits,
            enforcement=enforcement,
            seed=seed,
            plan=self._plan,
            epoch=epoch,
            log=self._log,
            signing_key=f"callboard-fake-provider/{seed}".encode(),
        )
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
        return self._log.stats

    @property
    def foreign_requests(self) -> int:
        """Requests someone else on the keys made so far (``Enforcement.foreign_share``)."""
        return self._responder.foreign_requests

    @property
    def requests(self) -> tuple[RecordedRequest, ...]:
        """Every request received so far, in arrival order."""
        return tuple(self._log.requests)

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
        await self._log.wait_received(count)

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
        self._responder.started_at = trio.current_time()
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

    async def _serve_connection(self, stream: trio.SocketStream) -> None:
        connection = Connection(stream, self._max_body_bytes)
        try:
            while True:
                try:
                    request = await connection.next_request()
                except ProtocolError as exc:
                    if connection.can_respond:
                        body = error_reply("openai", exc.status, str(exc))
                        await connection.send_body(
                            body.status, self._responder.base_headers(body), body.data
                        )
                    return
                if request is None:
                    return
                await self._responder.exchange(connection, request)
                if not connection.reusable:
                    return
        except (ConnectionDone, trio.BrokenResourceError, trio.ClosedResourceError):
            return
        finally:
            await connection.aclose()
