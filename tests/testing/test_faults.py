"""Injected faults, scripted and random, and latency, seen by a raw httpx2 client."""

from __future__ import annotations

import json

import httpx2
import pytest
import trio

from callboard import ConfigError
from callboard.testing import FakeProvider, Fault, FaultKind, Latency, RouteFaults

from .conftest import ANTHROPIC_AUTH, OPENAI_AUTH, chat, message


async def test_scripted_faults_apply_in_order_then_stop(
    fp: FakeProvider, client: httpx2.AsyncClient
) -> None:
    fp.script(
        "/v1/chat/completions", [Fault.error(500, should_retry=False), None, Fault.html_502()]
    )
    fp.script("*", [Fault.error(529)])
    statuses: list[int] = []
    for _ in range(5):
        response = await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
        statuses.append(response.status_code)
        if response.status_code == 500:
            assert response.headers["x-should-retry"] == "false"
            assert response.json()["error"]["type"] == "server_error"
        if response.status_code == 502:
            assert response.headers["content-type"] == "text/html"
            assert b"502 Bad Gateway" in response.content
    # The route's own script first, then the "*" script, then normal answers.
    assert statuses == [500, 200, 502, 529, 200]
    assert fp.stats.faulted == 3 and fp.stats.succeeded == 2
    assert fp.stats.faults == (("error 500", 1), ("error 529", 1), ("html_502", 1))
    assert [r.fault.kind if r.fault else None for r in fp.requests] == [
        FaultKind.ERROR,
        None,
        FaultKind.HTML_502,
        FaultKind.ERROR,
        None,
    ]


def test_fault_labels_name_the_kind_and_what_varies() -> None:
    assert Fault.error(503).label == "error 503"
    assert Fault.rate_limited().label == "rate_limited 1s"
    assert Fault.rate_limited(retry_after=99_999).label == "rate_limited 99999s"
    assert Fault.hostile_body().label == "hostile_body"


async def test_error_faults_are_not_charged(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        FakeProvider(rpm=1) as fp,
        httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
    ):
        fp.script("*", [Fault.error(503)])
        failed = await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
        ok = await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
    assert (failed.status_code, ok.status_code) == (503, 200)
    assert failed.headers["x-ratelimit-remaining-requests"] == "1"


async def test_malformed_json(fp: FakeProvider, client: httpx2.AsyncClient) -> None:
    fp.script("/v1/messages", [Fault.malformed_json()])
    response = await client.post("/v1/messages", headers=ANTHROPIC_AUTH, json=message())
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_hostile_body_nests_deeper_than_a_recursive_parser_goes(
    fp: FakeProvider, client: httpx2.AsyncClient
) -> None:
    fp.script("*", [Fault.hostile_body(), Fault.hostile_body()])
    response = await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
    assert response.status_code == 200
    assert response.content == b"[" * 1100 + b"]" * 1100
    with pytest.raises(RecursionError):  # what a client's parser meets
        json.loads(response.content)
    async with client.stream(
        "POST", "/v1/chat/completions", headers=OPENAI_AUTH, json=chat("a b c d", stream=True)
    ) as streamed:
        lines = [line async for line in streamed.aiter_lines() if line]
    assert "data: " + "[" * 1100 + "]" * 1100 in lines
    assert lines[-1] == "data: [DONE]"  # the rest of the stream is intact


async def test_rate_limited_says_the_retry_after_it_is_given(
    fp: FakeProvider, client: httpx2.AsyncClient
) -> None:
    fp.script("*", [Fault.rate_limited(retry_after=99_999), Fault.rate_limited()])
    absurd = await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
    plain = await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
    assert (absurd.status_code, plain.status_code) == (429, 429)
    assert absurd.headers["retry-after"] == "99999"
    assert absurd.headers["retry-after-ms"] == "99999000"
    assert plain.headers["retry-after"] == "1"


async def test_reset_mid_body(fp: FakeProvider, client: httpx2.AsyncClient) -> None:
    fp.script("*", [Fault.reset(), Fault.reset()])
    with pytest.raises(httpx2.TransportError):
        await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
    received: list[str] = []
    with pytest.raises(httpx2.TransportError):
        async with client.stream(
            "POST", "/v1/chat/completions", headers=OPENAI_AUTH, json=chat("a b c d", stream=True)
        ) as response:
            async for line in response.aiter_lines():
                received.append(line)
    assert "data: [DONE]" not in received
    # The server survives and keeps serving.
    ok = await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
    assert ok.status_code == 200


async def test_truncated_sse(fp: FakeProvider, client: httpx2.AsyncClient) -> None:
    fp.script("/v1/messages", [Fault.truncated_sse()])
    events: list[str] = []
    with pytest.raises(httpx2.RemoteProtocolError):
        async with client.stream(
            "POST", "/v1/messages", headers=ANTHROPIC_AUTH, json=message("a b c", stream=True)
        ) as response:
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    events.append(line.removeprefix("event: "))
    assert events[0] == "message_start"
    assert "content_block_delta" in events
    assert "message_stop" not in events and "message_delta" not in events


async def test_sse_error_event_mid_stream(fp: FakeProvider, client: httpx2.AsyncClient) -> None:
    fp.script("/v1/messages", [Fault.sse_error()])
    async with client.stream(
        "POST", "/v1/messages", headers=ANTHROPIC_AUTH, json=message("a b c d e f", stream=True)
    ) as response:
        lines = [line async for line in response.aiter_lines() if line]
    assert lines[-2] == "event: error"
    assert json.loads(lines[-1].removeprefix("data: "))["error"]["type"] == "overloaded_error"
    assert "event: content_block_delta" in lines


async def test_stream_only_faults_do_not_touch_json_replies(
    fp: FakeProvider, client: httpx2.AsyncClient
) -> None:
    fp.script("*", [Fault.truncated_sse()])
    response = await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
    assert response.status_code == 200 and response.json()["object"] == "chat.completion"
    assert fp.stats.faulted == 0


async def test_stall_until_client_times_out(autojump_clock: trio.testing.MockClock) -> None:
    async with FakeProvider() as fp:
        fp.script("*", [Fault.stall()])
        async with httpx2.AsyncClient(base_url=fp.base_url, timeout=5) as client:
            start = trio.current_time()
            with pytest.raises(httpx2.ReadTimeout):
                await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
            assert trio.current_time() - start == pytest.approx(5)
        assert fp.requests[0].status is None
        assert fp.requests[0].fault == Fault.stall()


async def test_bounded_stall_then_answer(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        FakeProvider() as fp,
        httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
    ):
        fp.script("*", [Fault.stall(seconds=7)])
        start = trio.current_time()
        response = await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
        assert response.status_code == 200
        assert trio.current_time() - start == pytest.approx(7)


async def test_latency_and_per_chunk_pauses(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        FakeProvider(latency=Latency(base=2, per_chunk=0.5)) as fp,
        httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
    ):
        start = trio.current_time()
        await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
        assert trio.current_time() - start == pytest.approx(2)
        start = trio.current_time()
        async with client.stream(
            "POST", "/v1/chat/completions", headers=OPENAI_AUTH, json=chat("x", stream=True)
        ) as response:
            frames = [line async for line in response.aiter_lines() if line]
        # role chunk + 3 words + finish chunk + [DONE] = 6 frames, 5 pauses.
        assert len(frames) == 6
        assert trio.current_time() - start == pytest.approx(2 + 5 * 0.5)


async def test_peak_concurrency(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        FakeProvider(latency=Latency(base=1)) as fp,
        httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
        trio.open_nursery() as nursery,
    ):
        for _ in range(12):
            nursery.start_soon(
                lambda: client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
            )
    assert fp.stats.peak_concurrent == 12
    assert fp.stats.succeeded == 12


async def _fault_sequence(seed: int) -> list[int]:
    faults = {
        "/v1/chat/completions": RouteFaults(rates={Fault.error(503): 0.3, Fault.error(529): 0.2})
    }
    async with (
        FakeProvider(faults=faults, seed=seed) as fp,
        httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
    ):
        statuses = [
            (
                await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
            ).status_code
            for _ in range(40)
        ]
        # Other routes are not affected by a route's faults.
        other = await client.post(
            "/v1/embeddings",
            headers=OPENAI_AUTH,
            json={"model": "text-embedding-3-small", "input": "x"},
        )
        assert other.status_code == 200
    return statuses


async def test_random_faults_are_seeded() -> None:
    first, again, other = (
        await _fault_sequence(1),
        await _fault_sequence(1),
        await _fault_sequence(2),
    )
    assert first == again
    assert first != other
    assert set(first) == {200, 503, 529}
    assert 8 <= first.count(200) <= 32


async def test_wildcard_rate_one_faults_everything() -> None:
    async with (
        FakeProvider(faults={"*": RouteFaults(rates={Fault.error(502): 1.0})}) as fp,
        httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
    ):
        response = await client.post("/v1/messages", headers=ANTHROPIC_AUTH, json=message())
    assert response.status_code == 502
    assert response.json()["type"] == "error"


def test_invalid_config_is_refused() -> None:
    with pytest.raises(ConfigError, match="add up"):
        RouteFaults(rates={Fault.error(500): 0.7, Fault.reset(): 0.5})
    with pytest.raises(ConfigError) as rpm:
        FakeProvider(rpm=0)
    assert rpm.value.field == "rpm"
    with pytest.raises(ConfigError, match="not a served path"):
        FakeProvider(faults={"/v1/nope": RouteFaults()})
    with pytest.raises(ConfigError, match="one string"):
        FakeProvider(keys="test-key")
    with pytest.raises(ConfigError, match=r"400\.\.599"):
        Fault.error(200)
    with pytest.raises(ConfigError, match="distribution"):
        Latency(jitter=1, distribution="gamma")
    with pytest.raises(ConfigError):
        Latency(base=-1)
    with pytest.raises(ConfigError, match="not a served path"):
        FakeProvider().script("/v2/x", [None])
