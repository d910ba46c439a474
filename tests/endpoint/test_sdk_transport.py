"""The sdk transport: Messages requests through the official anthropic SDK, over loopback.

Every test talks to a real FakeProvider socket. The same request goes through the
``http`` transport too where it matters, so "the same normalized response and stream"
is checked by comparison, and the fake provider's counters prove the SDK never retried
on its own.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import pytest
import trio

from callboard.calling import Calling
from callboard.endpoint import (
    Secret,
    Transport,
    TransportResponse,
    TransportSettings,
    open_transport,
)
from callboard.endpoint._transport_sdk import SdkUnavailable, open_sdk_transport
from callboard.errors import ConfigError
from callboard.providers import (
    NormalizedResponse,
    ProviderRequest,
    ProviderSpec,
    StreamDelta,
    build_request,
    get_provider,
    parse_response,
    stream_decoder,
)
from callboard.resilience import (
    ConnectionFailed,
    RateLimited,
    ServerError,
    StreamInterrupted,
    Timeout,
)
from callboard.testing import FakeProvider, Fault

from .endpoint_rig import CHAT, ROUTES, rig

KEY = "sk-ant-test-key-123456"
PAYLOAD: dict[str, Any] = {
    "model": "claude-haiku-4-5",
    "max_tokens": 50,
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello there"},
    ],
}


@pytest.fixture
async def fp() -> AsyncIterator[FakeProvider]:
    async with FakeProvider(keys=[KEY], rpm=1000, tpm=1_000_000) as provider:
        yield provider  # limits, so it sends rate-limit headers


def spec_for(fp: FakeProvider) -> ProviderSpec:
    return attrs.evolve(get_provider("anthropic"), base_url=f"{fp.base_url}/v1")


def settings_for(fp: FakeProvider, **changes: Any) -> TransportSettings:
    base = TransportSettings(
        timeout=10.0,
        max_connections=8,
        base_url=f"{fp.base_url}/v1",
        api_key=Secret(KEY),
        provider="anthropic",
    )
    return attrs.evolve(base, **changes)


def request(fp: FakeProvider, *, stream: bool = False, **payload: Any) -> ProviderRequest:
    return build_request(
        spec_for(fp),
        "chat",
        {**PAYLOAD, **payload},
        api_key=KEY,
        stream=stream,
        idempotency_key="call-1",
    )


@asynccontextmanager
async def transport(name: str, settings: TransportSettings) -> AsyncIterator[Transport]:
    async with open_transport(name, settings) as opened:
        yield opened


def parse(fp: FakeProvider, answer: TransportResponse) -> NormalizedResponse:
    return parse_response(
        spec_for(fp), "chat", status=answer.status, headers=answer.headers, body=answer.body
    )


async def streamed(
    fp: FakeProvider, sender: Transport, req: ProviderRequest
) -> tuple[list[StreamDelta], NormalizedResponse]:
    async with sender.stream(req) as stream:
        if not 200 <= stream.status <= 299:
            parse_response(
                spec_for(fp),
                "chat",
                status=stream.status,
                headers=stream.headers,
                body=await stream.read(),
            )
            raise AssertionError("parse_response should have raised")
        decoder = stream_decoder(spec_for(fp), headers=stream.headers, status=stream.status)
        deltas: list[StreamDelta] = []
        async for event in stream.events():
            deltas.extend(decoder.feed(event.event, event.data))
        return deltas, decoder.result()


async def test_a_json_call_gives_the_same_response_as_the_http_transport(
    fp: FakeProvider,
) -> None:
    settings = settings_for(fp)
    async with transport("sdk", settings) as sdk, transport("http", settings) as http:
        via_sdk = parse(fp, await sdk.send(request(fp)))
        via_http = parse(fp, await http.send(request(fp)))
    assert via_sdk.text.endswith(": hello there")
    assert via_sdk.text == via_http.text
    assert via_sdk.usage == via_http.usage and via_sdk.usage is not None
    assert via_sdk.model == "claude-haiku-4-5"
    assert via_sdk.status_code == 200
    assert isinstance(via_sdk.raw, dict) and isinstance(via_http.raw, dict)
    assert {**via_sdk.raw, "id": ""} == {**via_http.raw, "id": ""}  # ids are per request
    # the rate-limit headers come back from the raw response, as over plain HTTP
    assert via_sdk.rate_limit is not None and via_http.rate_limit is not None
    assert via_sdk.rate_limit.keys() == via_http.rate_limit.keys()
    assert "anthropic-ratelimit-requests-remaining" in via_sdk.rate_limit
    sent = fp.requests[0]
    assert sent.header("x-stainless-retry-count") == "0"  # the SDK really sent it
    assert sent.header("idempotency-key") == "call-1"
    assert sent.json()["system"] == "Be brief."  # every body field passed through


async def test_a_stream_gives_the_same_deltas_and_final_response(fp: FakeProvider) -> None:
    settings = settings_for(fp)
    async with transport("sdk", settings) as sdk, transport("http", settings) as http:
        sdk_deltas, sdk_final = await streamed(fp, sdk, request(fp, stream=True))
        http_deltas, http_final = await streamed(fp, http, request(fp, stream=True))
    texts = [d.text for d in sdk_deltas if d.text]
    assert len(texts) > 1 and "".join(texts) == sdk_final.text  # one word per event
    assert sdk_deltas == http_deltas
    assert sdk_final.text.endswith(": hello there")
    assert sdk_final.usage == http_final.usage and sdk_final.usage is not None
    assert sdk_final.finish_reason == "end_turn"
    assert sdk_final.rate_limit is not None
    assert fp.requests[0].json()["stream"] is True


async def test_a_429_is_rate_limited_with_retry_after_and_no_sdk_retry(fp: FakeProvider) -> None:
    fp.script("/v1/messages", [Fault.rate_limited()])
    async with transport("sdk", settings_for(fp)) as sdk:
        answer = await sdk.send(request(fp))
    assert answer.status == 429
    with pytest.raises(RateLimited) as caught:
        parse(fp, answer)
    assert caught.value.retry_after == 1.0
    assert caught.value.provider == "anthropic"
    assert fp.stats.received == 1  # the SDK (max_retries=0) did not try again


async def test_a_rate_limited_stream_is_an_error_response_not_an_exception(
    fp: FakeProvider,
) -> None:
    fp.script("/v1/messages", [Fault.rate_limited()])
    async with transport("sdk", settings_for(fp)) as sdk:
        with pytest.raises(RateLimited) as caught:
            await streamed(fp, sdk, request(fp, stream=True))
    assert caught.value.retry_after == 1.0
    assert fp.stats.received == 1


async def test_a_5xx_the_server_says_to_retry_is_not_retried_by_the_sdk(
    fp: FakeProvider,
) -> None:
    fp.script("/v1/messages", [Fault.error(503, should_retry=True), Fault.error(529)])
    async with transport("sdk", settings_for(fp)) as sdk:
        first = await sdk.send(request(fp))
        second = await sdk.send(request(fp))
    assert (first.status, second.status) == (503, 529)
    with pytest.raises(ServerError) as caught:
        parse(fp, first)
    assert caught.value.status == 503 and caught.value.should_retry is True
    assert fp.stats.received == 2  # one request per call, whatever x-should-retry said


async def test_a_truncated_stream_breaks_after_its_partial_text(fp: FakeProvider) -> None:
    fp.script("/v1/messages", [Fault.truncated_sse()])
    decoder = stream_decoder(spec_for(fp))
    async with transport("sdk", settings_for(fp)) as sdk, sdk.stream(request(fp, stream=True)) as s:
        with pytest.raises(ConnectionFailed):  # the Endpoint's cue for StreamInterrupted
            async for event in s.events():
                decoder.feed(event.event, event.data)
    assert decoder.text.startswith("echo")
    with pytest.raises(StreamInterrupted) as caught:
        decoder.result()
    assert caught.value.partial_text == decoder.text


async def test_a_connection_reset_mid_stream_is_connection_failed(fp: FakeProvider) -> None:
    fp.script("/v1/messages", [Fault.reset()])
    async with transport("sdk", settings_for(fp)) as sdk:
        with pytest.raises(ConnectionFailed):
            await streamed(fp, sdk, request(fp, stream=True))


async def test_no_server_is_connection_failed() -> None:
    async with FakeProvider(keys=[KEY]) as gone:
        closed = gone
    settings = settings_for(closed)
    async with transport("sdk", settings) as sdk:
        with pytest.raises(ConnectionFailed, match="connection to anthropic failed"):
            await sdk.send(request(closed))


async def test_a_stalled_answer_is_timeout(fp: FakeProvider) -> None:
    fp.script("/v1/messages", [Fault.stall()])
    async with transport("sdk", settings_for(fp, timeout=0.3)) as sdk:
        with trio.fail_after(10), pytest.raises(Timeout):
            await sdk.send(request(fp))
    assert fp.stats.received == 1


async def test_a_keyless_client_never_sends_a_key_from_the_environment(
    fp: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-the-environment")
    async with transport("sdk", settings_for(fp, api_key=None)) as sdk:
        answer = await sdk.send(request(fp))  # the request's own x-api-key is used
    assert answer.status == 200
    assert fp.requests[0].header("authorization") is None
    assert fp.requests[0].header("x-api-key") is not None


async def test_only_messages_requests_go_through_the_sdk(fp: FakeProvider) -> None:
    embeddings = build_request(
        get_provider("openai"), "embeddings", {"model": "m", "input": "x"}, api_key="sk-x"
    )
    async with transport("sdk", settings_for(fp)) as sdk:
        with pytest.raises(ConfigError, match="calls no anthropic SDK method") as caught:
            await sdk.send(embeddings)
    assert caught.value.field == "transport"
    assert fp.stats.received == 0


async def test_without_the_anthropic_package_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)  # import anthropic now fails
    with pytest.raises(SdkUnavailable, match=r"callboard\[anthropic\]") as caught:
        async with open_sdk_transport(TransportSettings(base_url="http://127.0.0.1:9/v1")):
            pass
    assert isinstance(caught.value, ConfigError) and caught.value.field == "transport"


def test_the_key_stays_out_of_the_transport_repr_and_settings() -> None:
    settings = TransportSettings(api_key=Secret(KEY))
    assert KEY not in repr(settings)


# -- through the Endpoint actor ----------------------------------------------------------


async def test_an_endpoint_with_the_sdk_transport_answers_and_streams_like_http() -> None:
    fp = FakeProvider(rpm=1000, tpm=1_000_000)
    async with rig("anthropic", fp=fp, transport="sdk") as r:
        response = await r.executor.call(Calling(dict(CHAT)))
        send, receive = trio.open_memory_channel[StreamDelta](100)
        calling = Calling(dict(CHAT), streaming=True, stream_sink=send)
        streamed_response = await r.executor.call(calling)
        deltas = [delta async for delta in receive]
        sent = r.fp.requests
    assert isinstance(response, NormalizedResponse)
    assert response.text.endswith(": hello there")
    assert response.provider == "anthropic"
    assert response.rate_limit is not None
    assert "anthropic-ratelimit-tokens-remaining" in response.rate_limit
    assert "".join(d.text for d in deltas) == streamed_response.text == response.text
    assert calling.actual_tokens == streamed_response.usage.total_tokens  # pyright: ignore
    assert all(q.header("x-stainless-retry-count") == "0" for q in sent)


async def test_through_an_endpoint_429s_are_handled_by_admission_alone(
    autojump_clock: object,
) -> None:
    async with rig("anthropic", transport="sdk") as r:  # RetryPolicy(max_retries=2)
        r.fp.script(ROUTES["anthropic"], [Fault.rate_limited()] * 3)
        start = trio.current_time()
        response = await r.executor.call(Calling(dict(CHAT)))
        arrivals = [q.arrival - start for q in r.fp.requests]
        statuses = [q.status for q in r.fp.requests]
    assert response.text.endswith(": hello there")
    # One request per admission, each after the 1 s retry-after: the SDK retries nothing
    # itself (three 429s would otherwise be (1 + 2) x (1 + SDK's 2) requests).
    assert statuses == [429, 429, 429, 200]
    assert arrivals == pytest.approx([0.0, 1.0, 2.0, 3.0], abs=1e-6)


async def test_through_an_endpoint_a_503_then_success_completes(autojump_clock: object) -> None:
    async with rig("anthropic", transport="sdk") as r:
        r.fp.script(ROUTES["anthropic"], [Fault.error(503), None])
        response = await r.executor.call(Calling(dict(CHAT)))
        statuses = [q.status for q in r.fp.requests]
    assert response.text.endswith(": hello there")
    assert statuses == [503, 200]
