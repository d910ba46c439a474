"""The http transport's TLS and proxies, against real loopback servers: a TLS server
with a throwaway CA (trustme), and a small HTTP proxy that tunnels CONNECT and forwards
absolute-form requests."""

from __future__ import annotations

import ssl
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import pytest
import trio
import trustme

from callboard import Calling, ConnectionFailed, RetryPolicy, match_endpoint
from callboard.endpoint import TransportSettings, open_transport
from callboard.providers import build_request, get_provider
from tests.hostile.server import HostileServer, Move, Request, respond

CHAT = (
    b'{"id": "x", "object": "chat.completion", "model": "gpt-4o", "choices": [{"index": 0,'
    b' "message": {"role": "assistant", "content": "over tls"}}]}'
)
OK = respond(200, [("content-type", "application/json")], CHAT)
BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


async def _read_request(stream: trio.abc.Stream) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = await stream.receive_some(65536)
        if not piece:
            return b""
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        rest += await stream.receive_some(65536)
    return head


@asynccontextmanager
async def tls_server(ca: trustme.CA) -> AsyncIterator[tuple[int, list[bytes]]]:
    """A TLS server on 127.0.0.1 with a certificate of ``ca``; yields its port and the
    request heads it received."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    heads: list[bytes] = []

    async def serve(stream: trio.SSLStream[trio.SocketStream]) -> None:
        try:
            while head := await _read_request(stream):
                heads.append(head)
                await stream.send_all(OK)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_ssl_over_tcp, serve, 0, context, host="127.0.0.1")
        )
        yield listeners[0].transport_listener.socket.getsockname()[1], heads
        nursery.cancel_scope.cancel()


class Proxy:
    """An HTTP proxy on 127.0.0.1: CONNECT tunnels, absolute-form requests forwarded."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []  # method, target, proxy auth
        self.port = 0

    async def _relay(self, source: trio.abc.Stream, sink: trio.abc.Stream) -> None:
        try:
            while data := await source.receive_some(65536):
                await sink.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        finally:
            await trio.aclose_forcefully(sink)

    async def serve(self, client: trio.SocketStream) -> None:
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            piece = await client.receive_some(65536)
            if not piece:
                return
            buffer += piece
        head, _, rest = buffer.partition(b"\r\n\r\n")
        first, *lines = head.decode("latin-1").split("\r\n")
        method, target, _ = first.split(" ", 2)
        auth = next(
            (
                line.split(":", 1)[1].strip()
                for line in lines
                if line.lower().startswith("proxy-authorization:")
            ),
            None,
        )
        self.seen.append((method, target, auth))
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = await trio.open_tcp_stream(host, int(port))
            await client.send_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            forward = rest
        else:
            parts = urllib.parse.urlsplit(target)
            upstream = await trio.open_tcp_stream(parts.hostname or "", parts.port or 80)
            forward = buffer
        if forward:
            await upstream.send_all(forward)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._relay, client, upstream)
            nursery.start_soon(self._relay, upstream, client)


@asynccontextmanager
async def proxy() -> AsyncIterator[Proxy]:
    server = Proxy()
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, server.serve, 0, host="127.0.0.1"))
        server.port = listeners[0].socket.getsockname()[1]
        yield server
        nursery.cancel_scope.cancel()


def _client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def _request(base_url: str) -> object:
    return build_request(get_provider("openai", base_url=base_url), "chat", BODY, api_key="k")


@pytest.fixture(autouse=True)
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


async def test_tls_verified_against_the_given_ca_and_kept_alive(ca: trustme.CA) -> None:
    async with tls_server(ca) as (port, heads):
        settings = TransportSettings(timeout=10, ssl_context=_client_context(ca))
        async with open_transport("http", settings) as transport:
            for _ in range(3):
                answer = await transport.send(_request(f"https://127.0.0.1:{port}/v1"))  # type: ignore[arg-type]
                assert answer.status == 200 and b"over tls" in answer.body
            assert transport.pool.open_connections == 1  # type: ignore[attr-defined]
    assert len(heads) == 3 and heads[0].startswith(b"POST /v1/chat/completions HTTP/1.1")


async def test_an_unknown_ca_fails_the_handshake_as_connection_failed(ca: trustme.CA) -> None:
    # The process's context (certifi / the system store) does not trust this CA.
    settings = TransportSettings(timeout=10)
    async with tls_server(ca) as (port, heads), open_transport("http", settings) as transport:
        with pytest.raises(ConnectionFailed, match="TLS handshake") as caught:
            await transport.send(_request(f"https://127.0.0.1:{port}/v1"))  # type: ignore[arg-type]
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert heads == []


async def test_an_endpoint_trusts_ssl_cert_file(
    ca: trustme.CA, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = f"{tmp_path}/ca.pem"
    ca.cert_pem.write_to_path(bundle)
    monkeypatch.setenv("SSL_CERT_FILE", bundle)
    async with tls_server(ca) as (port, _):
        endpoint = match_endpoint(
            "openai", base_url=f"https://127.0.0.1:{port}/v1", api_key="k", model="gpt-4o"
        )
        response = await endpoint.execute(Calling({"messages": BODY["messages"]}))
        await endpoint.aclose()
    assert response.text == "over tls"


async def test_https_goes_through_a_connect_tunnel_with_proxy_credentials(
    ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with tls_server(ca) as (port, heads), proxy() as server:
        monkeypatch.setenv("HTTPS_PROXY", f"http://user:p%40ss@127.0.0.1:{server.port}")
        settings = TransportSettings(timeout=10, ssl_context=_client_context(ca))
        async with open_transport("http", settings) as transport:
            for _ in range(2):
                answer = await transport.send(_request(f"https://127.0.0.1:{port}/v1"))  # type: ignore[arg-type]
                assert b"over tls" in answer.body
    # One tunnel, kept alive; the TLS server saw origin-form requests through it.
    assert server.seen == [("CONNECT", f"127.0.0.1:{port}", "Basic dXNlcjpwQHNz")]
    assert len(heads) == 2


async def test_http_is_forwarded_in_absolute_form_unless_no_proxy_says_direct(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def script(request: Request) -> list[Move]:
        return [OK]

    async with HostileServer(script) as origin, proxy() as server:
        url = f"{origin.base_url}/v1"
        monkeypatch.setenv("HTTP_PROXY", f"127.0.0.1:{server.port}")
        endpoint = match_endpoint(
            "openai", base_url=url, api_key="k", model="gpt-4o", retry=RetryPolicy.disabled()
        )
        await endpoint.execute(Calling({"messages": BODY["messages"]}))
        await endpoint.aclose()
        assert server.seen == [("POST", f"{url}/chat/completions", None)]
        assert origin.requests[0].path == f"{url}/chat/completions"

        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        await endpoint.execute(Calling({"messages": BODY["messages"]}))
        await endpoint.aclose()
        assert len(server.seen) == 1  # direct this time
        assert origin.requests[1].path == "/v1/chat/completions"
