"""Raw HTTP: headers, error shapes for bad input, recording. The server never crashes."""

from __future__ import annotations

import json

import httpx2
import trio

from callboard.testing import FakeProvider

from .conftest import ANTHROPIC_AUTH, OPENAI_AUTH, chat, message


async def test_openai_stream_frames_are_exact(client: httpx2.AsyncClient) -> None:
    body = chat("x y", stream=True, stream_options={"include_usage": True})
    async with client.stream(
        "POST", "/v1/chat/completions", headers=OPENAI_AUTH, json=body
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line async for line in response.aiter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    chunks = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    # "echo", "<digest>:", "x", "y": one word, one token, one chunk.
    assert chunks[-1]["usage"]["completion_tokens"] == 4
    assert len(chunks) == 1 + 4 + 1 + 1


async def test_bad_input_gets_400_in_each_shape(fp: FakeProvider) -> None:
    cases: list[tuple[str, dict[str, str], bytes, str]] = [
        ("/v1/chat/completions", OPENAI_AUTH, b"{not json", "parse"),
        ("/v1/chat/completions", OPENAI_AUTH, b"[1, 2]", "JSON object"),
        ("/v1/chat/completions", OPENAI_AUTH, json.dumps({"model": "gpt-4o"}).encode(), "messages"),
        (
            "/v1/chat/completions",
            OPENAI_AUTH,
            json.dumps(chat(max_tokens=0)).encode(),
            "max_tokens",
        ),
        ("/v1/chat/completions", OPENAI_AUTH, json.dumps({**chat(), "model": 7}).encode(), "model"),
        ("/v1/messages", ANTHROPIC_AUTH, b"\xff\xfe", "parse"),
        (
            "/v1/messages",
            ANTHROPIC_AUTH,
            json.dumps({**message(), "max_tokens": None}).encode(),
            "max_tokens",
        ),
        ("/v1/messages", ANTHROPIC_AUTH, json.dumps(message(messages=[])).encode(), "at least one"),
        (
            "/v1/messages",
            ANTHROPIC_AUTH,
            json.dumps(
                {**message(), "thinking": {"type": "enabled", "budget_tokens": 10}}
            ).encode(),
            "budget_tokens",
        ),
        ("/v1/embeddings", OPENAI_AUTH, b'{"model": "text-embedding-3-small"}', "input"),
        (
            "/v1/rerank",
            OPENAI_AUTH,
            b'{"model": "rerank-v3.5", "query": "q", "documents": [1]}',
            "document",
        ),
        ("/v1/audio/transcriptions", OPENAI_AUTH, b"{}", "multipart"),
        ("/v1/audio/speech", OPENAI_AUTH, b'{"model": "tts-1", "input": "hi"}', "voice"),
    ]
    async with httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client:
        for path, headers, data, needle in cases:
            response = await client.post(path, headers=headers, content=data)
            assert response.status_code == 400, (path, data)
            body = response.json()
            if path == "/v1/messages":
                assert body["type"] == "error"
                assert body["error"]["type"] == "invalid_request_error"
                assert needle in body["error"]["message"]
            else:
                assert set(body["error"]) == {"message", "type", "param", "code"}
                assert needle in body["error"]["message"], (path, body)
    assert fp.stats.rejected == len(cases)
    assert fp.stats.succeeded == 0


async def test_auth_failures_are_401_in_each_shape(client: httpx2.AsyncClient) -> None:
    missing = await client.post("/v1/chat/completions", json=chat())
    assert missing.status_code == 401
    assert "didn't provide an API key" in missing.json()["error"]["message"]
    wrong = await client.post(
        "/v1/embeddings",
        headers={"authorization": "Bearer sk-secret-123"},
        json={"model": "text-embedding-3-small", "input": "x"},
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"]["code"] == "invalid_api_key"
    assert "sk-secret-123" not in wrong.text
    anthropic_missing = await client.post(
        "/v1/messages", headers={"anthropic-version": "2023-06-01"}, json=message()
    )
    assert anthropic_missing.status_code == 401
    assert anthropic_missing.json()["error"]["type"] == "authentication_error"
    no_version = await client.post(
        "/v1/messages", headers={"x-api-key": "test-key"}, json=message()
    )
    assert no_version.status_code == 400
    assert "anthropic-version" in no_version.json()["error"]["message"]


async def test_unknown_route_and_wrong_method(client: httpx2.AsyncClient) -> None:
    response = await client.post("/v1/nope", headers=OPENAI_AUTH, json={})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Invalid URL (POST /v1/nope)"
    get = await client.get("/v1/chat/completions", headers=OPENAI_AUTH)
    assert get.status_code == 405


async def test_garbage_bytes_get_400_and_server_keeps_serving(fp: FakeProvider) -> None:
    stream = await trio.open_tcp_stream("127.0.0.1", fp.port)
    async with stream:
        await stream.send_all(b"NOT HTTP AT ALL\r\n\r\n")
        reply = await stream.receive_some(4096)
    assert reply.startswith(b"HTTP/1.1 400")
    async with httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client:
        ok = await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
    assert ok.status_code == 200


async def test_oversized_body_gets_413() -> None:
    async with (
        FakeProvider(max_body_bytes=100) as fp,
        httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
    ):
        response = await client.post(
            "/v1/chat/completions", headers=OPENAI_AUTH, json=chat("x" * 200)
        )
    assert response.status_code == 413


async def test_requests_are_recorded_with_secrets_masked(
    fp: FakeProvider, client: httpx2.AsyncClient
) -> None:
    await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat("first"))
    await client.post("/v1/messages", headers=ANTHROPIC_AUTH, json=message("second"))
    await client.post("/v1/messages", headers={"x-api-key": "real-secret"}, json=message())
    first, second, third = fp.requests
    assert (first.method, first.path, first.number) == ("POST", "/v1/chat/completions", 1)
    assert first.header("authorization") == "Bearer ***"
    assert first.json()["messages"][0]["content"] == "first"
    assert first.key == "test-key" and first.status == 200
    assert second.header("x-api-key") == "***"
    assert second.arrival >= first.arrival
    assert third.key is None and third.status == 401
    assert "real-secret" not in repr(fp.requests)
    assert "real-secret" not in str(third.headers)
    assert fp.stats.received == 3 and fp.stats.succeeded == 2 and fp.stats.rejected == 1


async def test_other_endpoints_shapes(client: httpx2.AsyncClient) -> None:
    rerank = await client.post(
        "/v1/rerank",
        headers=OPENAI_AUTH,
        json={
            "model": "jina-reranker-v2-base-multilingual",
            "query": "red apple",
            "documents": ["a green pear", "a red apple", {"text": "red car"}],
            "top_n": 2,
        },
    )
    results = rerank.json()["results"]
    assert [r["index"] for r in results] == [1, 2]
    assert results[0]["relevance_score"] == 1.0
    assert results[0]["document"] == {"text": "a red apple"}
    assert rerank.json()["meta"]["billed_units"]["search_units"] == 1
    speech = await client.post(
        "/v1/audio/speech",
        headers=OPENAI_AUTH,
        json={"model": "tts-1", "input": "hi", "voice": "alloy"},
    )
    assert speech.headers["content-type"] == "audio/mpeg"
    assert speech.content.startswith(b"FAKEAUDIO")


async def test_concurrent_requests_are_counted(fp: FakeProvider) -> None:
    async with httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client:

        async def one() -> None:
            response = await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
            assert response.status_code == 200

        async with trio.open_nursery() as nursery:
            for _ in range(20):
                nursery.start_soon(one)
    assert fp.stats.received == fp.stats.succeeded == fp.stats.admitted == 20
    assert 1 <= fp.stats.peak_concurrent <= 20
