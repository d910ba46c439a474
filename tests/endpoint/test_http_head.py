"""The hot-path head parser against h11, the reader it stands in for.

Whenever ``parse_head`` accepts a head, h11 must read the same answer from the same
bytes: the status, the headers the transport hands on, the body's length, and whether
the connection may be kept alive. Heads are generated from pieces servers (and hostile
ones) send: odd versions and statuses, control bytes, obsolete line folding, bare LF,
repeated or conflicting lengths, transfer codings, ``connection: close``. Over real
sockets, a plain answer split anywhere, one with bytes after its body, and one cut short
behave as the h11 path does (or more safely: leftover bytes close the connection).
"""

from __future__ import annotations

import subprocess
import sys

import h11
import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callboard import ConnectionFailed
from callboard.endpoint import TransportSettings, open_transport
from callboard.endpoint._http_connection import (
    _headers,  # pyright: ignore[reportPrivateUsage]
)
from callboard.endpoint._http_head import parse_head
from callboard.providers import build_request, get_provider
from tests.endpoint.test_http_transport import BODY, CHAT
from tests.hostile.server import Close, HostileServer, Move, Pause, Request, chunked

_VERSIONS = [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"http/1.1", b"HTTP/1.1 "]
_STATUSES = [b"200", b"201", b"204", b"304", b"100", b"101", b"404", b"429", b"099", b"999"]
_REASON_BYTES = b" \tOKabc\x7f\x80\xff\x00\x01\r"
_NAMES = [
    b"content-length",
    b"Content-Length",
    b"transfer-encoding",
    b"Transfer-Encoding",
    b"connection",
    b"Connection",
    b"content-type",
    b"x-request-id",
    b"x-\xe9",
    b"bad name",
    b"",
    b"X-Ratelimit-Remaining-Requests",
]
_VALUES = [
    b"0",
    b"5",
    b"12",
    b" 12 ",
    b"\t7",
    b"12, 12",
    b"12, 13",
    b"1a",
    b"-1",
    b"00000000000000000005",
    b"99999999999999999999999",
    b"chunked",
    b"gzip, chunked",
    b"close",
    b"Close",
    b"keep-alive",
    b"keep-alive, close",
    b"upgrade,close ",
    b"",
    b"application/json",
    b"caf\xc3\xa9",
    b"caf\xe9",
    b"a\x00b",
    b"a\x01b",
    b"a\x7fb",
    b"a  b",
]
_SEPARATORS = [b":", b": ", b":\t", b" :", b":  "]


def _mostly(common: bytes, odd: list[bytes]) -> st.SearchStrategy[bytes]:
    """``common`` nine times in ten, else one of ``odd``: heads near the plain shape,
    where a subtle difference between the two readers would hide."""
    return st.integers(0, 9).flatmap(
        lambda n: st.just(common) if n else st.sampled_from(odd) | st.binary(max_size=6)
    )


_VERSION = _mostly(b"HTTP/1.1", _VERSIONS)
_STATUS = _mostly(b"200", _STATUSES)
_REASON = st.sampled_from([b"OK", b"", None]) | st.binary(max_size=8).map(
    lambda raw: bytes(_REASON_BYTES[c % len(_REASON_BYTES)] for c in raw)
)
_END = _mostly(b"\r\n", [b"\n", b"\r"])
_NAME = _mostly(b"x-request-id", _NAMES)
_VALUE = _mostly(b"abc", _VALUES)
_SEPARATOR = _mostly(b": ", _SEPARATORS)
_TRAIL = _mostly(b"", [b" ", b"\t "])
_LENGTH = st.integers(0, 30).map(lambda n: b"%d" % n)
_FIELD = st.tuples(_NAME, _SEPARATOR, _VALUE, _TRAIL, _END).map(b"".join)
_FOLD = st.just(b" folded\r\n")  # obsolete line folding


@st.composite
def heads(draw: st.DrawFn) -> bytes:
    reason = draw(_REASON)
    line = draw(_VERSION) + b" " + draw(_STATUS) + (b"" if reason is None else b" " + reason)
    lines = [line + draw(_END)]
    fields = draw(st.lists(_FIELD | _FOLD if draw(st.integers(0, 9)) == 0 else _FIELD, max_size=5))
    if draw(st.integers(0, 9)):
        length = draw(_LENGTH) if draw(st.integers(0, 9)) else draw(st.sampled_from(_VALUES))
        fields.insert(draw(st.integers(0, len(fields))), b"content-length: " + length + b"\r\n")
    return b"".join([*lines, *fields]) + draw(_END)


@st.composite
def plain_heads(draw: st.DrawFn) -> bytes:
    """Heads of the common shape, which the fast path must take (not leave to h11)."""
    status = draw(st.sampled_from([b"200", b"201", b"400", b"429", b"500", b"503"]))
    text = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=8)
    lines = [b"HTTP/1.1 " + status + b" " + draw(st.sampled_from([b"OK", b"", b"Too Many"]))]
    names = draw(st.lists(st.sampled_from(["x-a", "X-B", "server", "date", "x-ratelimit-limit"])))
    lines += [f"{name}: {draw(text)}".encode() for name in names]
    lines.append(b"content-length: %d" % draw(st.integers(0, 50)))
    if draw(st.booleans()):
        lines.append(b"connection: " + draw(st.sampled_from([b"close", b"keep-alive"])))
    return b"\r\n".join(lines) + b"\r\n\r\n"


def h11_reading(
    head: bytes, length: int
) -> tuple[h11.Response, int, type[h11._state.Sentinel]] | None:  # pyright: ignore[reportPrivateUsage]
    """h11's reading of ``head`` plus ``length`` body bytes: the response, the body
    bytes it counted, and its state for the server after (DONE: may be kept alive)."""
    connection = h11.Connection(h11.CLIENT)
    connection.send(h11.Request(method="POST", target="/", headers=[("host", "x")]))
    connection.send(h11.EndOfMessage())
    connection.receive_data(head + b"x" * length)
    try:
        event = connection.next_event()
        if type(event) is not h11.Response:
            return None
        counted = 0
        while type(piece := connection.next_event()) is h11.Data:
            counted += len(piece.data)
    except h11.RemoteProtocolError:
        return None
    assert type(piece) is h11.EndOfMessage
    return event, counted, connection.their_state


def check_against_h11(head: bytes) -> bool:
    """True when the fast path accepted ``head`` (and h11 agreed on everything)."""
    found = parse_head(head, "POST")
    if found is None:
        return False
    reading = h11_reading(head, found.length if found.length <= 10_000 else 0)
    assert reading is not None, f"parse_head accepted a head h11 refuses: {head!r}"
    response, counted, state = reading
    assert response.status_code == found.status
    assert _headers(response) == found.headers
    if found.length <= 10_000:
        assert counted == found.length
        assert (state is h11.DONE) == found.keep_alive, head
    return True


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=heads())
def test_a_head_the_fast_path_accepts_is_read_the_same_by_h11(head: bytes) -> None:
    check_against_h11(head)


@settings(max_examples=100, deadline=None)
@given(head=plain_heads())
def test_the_common_head_is_taken_by_the_fast_path(head: bytes) -> None:
    assert check_against_h11(head), head


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 204 No Content\r\ncontent-length: 3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ncontent-length: 3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 3, 3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",  # read until close
        b"HTTP/1.0 200 OK\r\ncontent-length: 3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nx: a\r\n b\r\ncontent-length: 3\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nx: a\x01\r\ncontent-length: 3\r\n\r\n",
    ],
)
def test_every_other_shape_is_left_to_h11(head: bytes) -> None:
    assert parse_head(head, "POST") is None


def test_empty_and_blank_values_are_read_as_h11_reads_them() -> None:
    head = b"HTTP/1.1 200 OK\r\nx:\r\ny:   \r\nz: \t a  b \t\r\ncontent-length: 3\r\n\r\n"
    assert check_against_h11(head)


def test_blank_header_lines_cannot_make_the_parser_backtrack() -> None:
    # 40 whitespace-only values, then a control byte that fails the match: a regex with
    # two ways to split each line's blanks backtracks 4**40 times before giving up (the
    # Trio loop frozen for good); possessive and atomic, it fails at once. A subprocess,
    # so that a regression times out here instead of hanging the test run.
    head = b"HTTP/1.1 200 OK\r\n" + b"x:    \r\n" * 40 + b"y: \x01\r\n\r\n"
    code = (
        f"from callboard.endpoint._http_head import parse_head; print(parse_head({head!r}, 'POST'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "None"


def test_a_head_request_is_left_to_h11() -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n"
    assert parse_head(head, "POST") is not None
    assert parse_head(head, "HEAD") is None


# -- over real sockets ------------------------------------------------------------------

HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(
    CHAT
)


async def exchange(moves: list[Move], times: int = 1) -> tuple[list[bytes], HostileServer, int]:
    async def script(request: Request) -> list[Move]:
        return moves

    async with HostileServer(script) as server:
        spec = get_provider("openai", base_url=f"{server.base_url}/v1")
        request = build_request(spec, "chat", BODY, api_key="k")
        async with open_transport("http", TransportSettings(timeout=5)) as transport:
            with trio.fail_after(10):
                bodies = [(await transport.send(request)).body for _ in range(times)]
            idle = transport.pool.idle_connections  # type: ignore[attr-defined]
    return bodies, server, idle


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(1, len(HEAD) + len(CHAT) - 1), max_size=5, unique=True))
def test_a_plain_answer_split_anywhere_is_read_whole_and_kept_alive(cuts: list[int]) -> None:
    data = HEAD + CHAT
    moves: list[Move] = []
    last = 0
    for cut in sorted(cuts):
        moves += [data[last:cut], Pause(0.001)]
        last = cut
    moves.append(data[last:])
    bodies, server, idle = trio.run(exchange, moves, 2)
    assert bodies == [CHAT, CHAT]
    assert server.connections == 1 and idle == 1


async def test_bytes_after_the_body_close_the_connection_instead_of_being_read_next() -> None:
    bodies, server, idle = await exchange([HEAD + CHAT + HEAD + CHAT], 2)
    assert bodies == [CHAT, CHAT]
    assert server.connections == 2 and idle == 0


async def test_connection_close_is_honoured_on_the_fast_path() -> None:
    head = HEAD.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n")
    bodies, server, idle = await exchange([head + CHAT], 2)
    assert bodies == [CHAT, CHAT]
    assert server.connections == 2 and idle == 0


async def test_a_bare_lf_before_the_blank_line_is_read_by_h11_at_once() -> None:
    # h11 ends a head at "\n\r\n": the fast path must hand it over, not wait for a
    # "\r\n\r\n" that never comes (until the first-byte timeout, or forever without one).
    head = HEAD.replace(b"\r\n\r\n", b"\n\r\n")
    with trio.fail_after(2):
        bodies, _, _ = await exchange([head + CHAT])
    assert bodies == [CHAT]


async def test_a_body_cut_short_is_a_connection_failure_naming_what_came() -> None:
    with pytest.raises(ConnectionFailed, match="received 10 bytes, expected"):
        await exchange([HEAD + CHAT[:10], Close()])


async def test_answers_h11_reads_and_plain_ones_share_one_kept_alive_connection() -> None:
    # Chunked (h11's) and Content-Length (the fast path's) answers in turn, on one
    # connection: each exchange starts afresh on whichever reader its answer needs.
    async def script(request: Request) -> list[Move]:
        if request.index % 2:
            return [HEAD + CHAT]
        head = HEAD.replace(b"content-length: %d" % len(CHAT), b"transfer-encoding: chunked")
        return [head + chunked(CHAT[:7], CHAT[7:])]

    async with HostileServer(script) as server:
        spec = get_provider("openai", base_url=f"{server.base_url}/v1")
        request = build_request(spec, "chat", BODY, api_key="k")
        async with open_transport("http", TransportSettings(timeout=5)) as transport:
            with trio.fail_after(10):
                bodies = [(await transport.send(request)).body for _ in range(4)]
    assert bodies == [CHAT] * 4
    assert server.connections == 1 and len(server.requests) == 4
