"""What the fake provider saw: every request, and counters tests assert on."""

from __future__ import annotations

import json
from typing import Any

import attrs
import trio

from ._faults import Fault
from ._http import HttpRequest

__all__ = ["FakeProviderStats", "RecordedRequest", "RequestLog", "mask_headers"]

_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "proxy-authorization"})


def mask_headers(headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """Headers with credentials replaced: ``Bearer ***`` keeps the scheme, not the key."""
    masked: list[tuple[str, str]] = []
    for name, value in headers:
        if name in _SECRET_HEADERS:
            scheme, _, rest = value.partition(" ")
            value = f"{scheme} ***" if rest else "***"
        masked.append((name, value))
    return tuple(masked)


@attrs.define
class RecordedRequest:
    """One request the provider received, recorded on arrival.

    ``status`` and ``fault`` are filled in once the response is decided (``status`` stays
    ``None`` for a request still in progress, stalled or cut off by shutdown).

    Attributes:
        method, path: from the request line (``path`` without the query string).
        headers: lower-case names; credentials masked.
        body: the raw body bytes.
        arrival: ``trio.current_time()`` when the request was fully read.
        key: the configured API key it authenticated with, ``None`` if it did not.
        number: 1 for the first request the provider received.
    """

    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = attrs.field(repr=False)
    arrival: float
    key: str | None = attrs.field(repr=False)
    number: int
    status: int | None = None
    fault: Fault | None = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lower case), or ``None``."""
        return next((value for key, value in self.headers if key == name), None)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@attrs.frozen
class FakeProviderStats:
    """Counters since the provider started (a snapshot; read ``fp.stats`` again for news).

    Attributes:
        received: requests fully read.
        succeeded: 2xx responses sent in full without a fault.
        rate_limited: 429 responses (bucket empty, or a scripted ``Fault.rate_limited()``).
        faulted: requests that got an injected fault.
        faults: the injected faults by kind, as ``(Fault.label, count)`` pairs sorted
            by label, e.g. ``(("hostile_body", 3), ("rate_limited 99999s", 1))``.
        rejected: 4xx other than 429 (bad input, bad key, unknown route).
        peak_concurrent: the most requests in progress at once.
        tokens_charged: tokens taken from token buckets at admission.
        tokens_refunded: unused ``max_tokens`` given back after responses.
        admitted: requests that passed the rate limiter.
        first_admission, last_admission: ``trio.current_time()`` of the first and last
            admission (``None`` before any).
    """

    received: int = 0
    succeeded: int = 0
    rate_limited: int = 0
    faulted: int = 0
    faults: tuple[tuple[str, int], ...] = ()
    rejected: int = 0
    peak_concurrent: int = 0
    tokens_charged: int = 0
    tokens_refunded: int = 0
    admitted: int = 0
    first_admission: float | None = None
    last_admission: float | None = None


class RequestLog:
    """The requests a provider received, its counters, and the tasks waiting on them."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.stats = FakeProviderStats()
        self._waiters: list[tuple[int, trio.Event]] = []

    def record(self, request: HttpRequest, key: str | None) -> RecordedRequest:
        """Log a request on arrival, count it, and wake the waiters it satisfies."""
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            headers=mask_headers(request.headers),
            body=request.body,
            arrival=trio.current_time(),
            key=key,
            number=len(self.requests) + 1,
        )
        self.requests.append(record)
        received = self.stats.received + 1
        self.bump(received=received)
        for count, event in self._waiters:
            if count <= received:
                event.set()
        self._waiters = [(c, e) for c, e in self._waiters if not e.is_set()]
        return record

    def count_fault(self, label: str) -> None:
        """Count one injected fault of kind ``label`` (``faulted`` and ``faults``)."""
        counts = dict(self.stats.faults)
        counts[label] = counts.get(label, 0) + 1
        self.bump(faulted=self.stats.faulted + 1, faults=tuple(sorted(counts.items())))

    def bump(self, **changes: object) -> None:
        """Replace counters in the stats snapshot (``bump(rejected=stats.rejected + 1)``)."""
        self.stats = attrs.evolve(self.stats, **changes)  # pyright: ignore[reportArgumentType]

    async def wait_received(self, count: int) -> None:
        """Wait until ``count`` requests in total have been received."""
        if self.stats.received >= count:
            await trio.lowlevel.checkpoint()
            return
        event = trio.Event()
        self._waiters.append((count, event))
        await event.wait()
