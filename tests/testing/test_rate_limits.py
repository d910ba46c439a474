"""Server-side rate limits on exact request schedules (MockClock, real sockets)."""

from __future__ import annotations

import email.utils
from datetime import datetime

import httpx2
import trio

from callboard.testing import FakeProvider

from .conftest import ANTHROPIC_AUTH, OPENAI_AUTH, chat, message


async def test_request_bucket_schedule(autojump_clock: trio.testing.MockClock) -> None:
    async with (
        FakeProvider(rpm=2, keys=["key-a", "key-b"]) as fp,
        httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
    ):
        start = trio.current_time()
        auth = {"authorization": "Bearer key-a"}
        first = await client.post("/v1/chat/completions", headers=auth, json=chat())
        assert first.status_code == 200
        assert first.headers["x-ratelimit-limit-requests"] == "2"
        assert first.headers["x-ratelimit-remaining-requests"] == "1"
        assert first.headers["x-ratelimit-reset-requests"] == "30s"
        second = await client.post("/v1/chat/completions", headers=auth, json=chat())
        assert second.headers["x-ratelimit-remaining-requests"] == "0"
        assert second.headers["x-ratelimit-reset-requests"] == "1m0s"
        third = await client.post("/v1/chat/completions", headers=auth, json=chat())
        assert third.status_code == 429
        assert third.headers["retry-after"] == "30"
        assert third.headers["retry-after-ms"] == "30000"
        assert third.json()["error"]["code"] == "rate_limit_exceeded"
        # Each key has its own buckets.
        other = await client.post(
            "/v1/chat/completions", headers={"authorization": "Bearer key-b"}, json=chat()
        )
        assert other.status_code == 200
        # 1 ms early is still too early; the advertised wait is enough.
        await trio.sleep_until(start + 29.999)
        early = await client.post("/v1/chat/completions", headers=auth, json=chat())
        assert early.status_code == 429
        assert early.headers["retry-after-ms"] == "1"
        await trio.sleep_until(start + 30)
        again = await client.post("/v1/chat/completions", headers=auth, json=chat())
        assert again.status_code == 200
    stats = fp.stats
    assert (stats.received, stats.admitted, stats.rate_limited) == (6, 4, 2)
    assert stats.first_admission == start
    assert stats.last_admission == start + 30


async def test_token_bucket_charges_max_tokens_and_refunds_unused(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with (
        FakeProvider(tpm=600) as fp,  # 10 tokens per second
        httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
    ):
        # prompt = 3 + 4 + ceil(2 / 4) = 8; reply "echo <digest>: hi" = 3 tokens.
        first = await client.post(
            "/v1/chat/completions", headers=OPENAI_AUTH, json=chat("hi", max_tokens=500)
        )
        assert first.json()["usage"] == {
            **first.json()["usage"],
            "prompt_tokens": 8,
            "completion_tokens": 3,
        }
        # Headers are sent before the refund: 600 - (8 + 500).
        assert first.headers["x-ratelimit-remaining-tokens"] == "92"
        assert fp.stats.tokens_charged == 508 and fp.stats.tokens_refunded == 497
        # Now 600 - 11 = 589 are left; a request needing 598 waits 0.9 s.
        big = await client.post(
            "/v1/chat/completions", headers=OPENAI_AUTH, json=chat("hi", max_tokens=590)
        )
        assert big.status_code == 429
        assert big.headers["retry-after-ms"] == "900"
        assert big.headers["retry-after"] == "1"
        assert "tokens" in big.json()["error"]["message"]
        await trio.sleep(0.9)
        ok = await client.post(
            "/v1/chat/completions", headers=OPENAI_AUTH, json=chat("hi", max_tokens=590)
        )
        assert ok.status_code == 200


async def test_request_larger_than_bucket_is_refused_for_good(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with (
        FakeProvider(tpm=100) as fp,
        httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
    ):
        response = await client.post(
            "/v1/chat/completions", headers=OPENAI_AUTH, json=chat(max_tokens=200)
        )
    assert response.status_code == 429
    assert response.headers["x-should-retry"] == "false"
    assert "retry-after" not in response.headers
    assert "Request too large" in response.json()["error"]["message"]


async def test_anthropic_headers_reset_relative_to_date(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with (
        FakeProvider(rpm=60, tpm=6000) as fp,
        httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
    ):
        await trio.sleep(0.25)  # Date is whole seconds; resets round up
        response = await client.post(
            "/v1/messages", headers=ANTHROPIC_AUTH, json=message(max_tokens=90)
        )
    headers = response.headers
    assert headers["anthropic-ratelimit-requests-limit"] == "60"
    assert headers["anthropic-ratelimit-requests-remaining"] == "59"
    assert headers["anthropic-ratelimit-tokens-limit"] == "6000"
    charge = response.json()["usage"]["input_tokens"] + 90
    assert headers["anthropic-ratelimit-tokens-remaining"] == str(6000 - charge)
    date = email.utils.parsedate_to_datetime(headers["date"])
    requests_reset = datetime.fromisoformat(headers["anthropic-ratelimit-requests-reset"])
    tokens_reset = datetime.fromisoformat(headers["anthropic-ratelimit-tokens-reset"])
    # Requests refill 1/s: full again 1 s after 0.25 s, i.e. at 1.25 s, advertised as 2 s.
    assert (requests_reset - date).total_seconds() == 2
    # Tokens refill 100/s: `charge` tokens take charge/100 s.
    assert (tokens_reset - date).total_seconds() >= charge / 100
    assert "x-ratelimit-limit-requests" not in headers


async def test_unlimited_keys_send_no_limit_headers(client: httpx2.AsyncClient) -> None:
    response = await client.post("/v1/chat/completions", headers=OPENAI_AUTH, json=chat())
    assert not [name for name in response.headers if "ratelimit" in name]
