"""Anthropic's input-token limit reads the prompt cache: writes count, reads do not.

Anthropic: "for most Claude models, only uncached input tokens count toward your ITPM
rate limits" (``cache_creation_input_tokens`` do). The fake's ITPM takes what its one
prompt cache (``callboard.testing._cache``) reports, so a cached prompt is charged the
write once and only its uncached tail afterwards, unless ``cache_reads_count``.
"""

from __future__ import annotations

import httpx2
import pytest
import trio

from callboard.testing import Enforcement, FakeProvider

from .conftest import ANTHROPIC_AUTH, message

LONG = "A long and stable system prompt. " * 140  # ~1,160 tokens: cacheable
SYSTEM = [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]
SLACK = 50  # input tokens per minute beyond one whole prompt


async def _prompt_tokens() -> int:
    """The whole prompt as the fake counts it (uncached input plus cache writes)."""
    async with (
        FakeProvider() as fp,
        httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
    ):
        reply = await client.post("/v1/messages", headers=ANTHROPIC_AUTH, json=_body())
    usage = reply.json()["usage"]
    assert usage["cache_creation_input_tokens"] >= 1024  # the prefix is written
    return usage["input_tokens"] + usage["cache_creation_input_tokens"]


def _body(question: str = "first question") -> dict[str, object]:
    return message(question, system=SYSTEM)


@pytest.mark.parametrize("reads_count", [False, True])
async def test_itpm_charges_cache_writes_and_leaves_reads_out(
    autojump_clock: trio.testing.MockClock, reads_count: bool
) -> None:
    prompt = await _prompt_tokens()
    enforcement = Enforcement(cache_reads_count=reads_count)
    async with (
        FakeProvider(itpm=prompt + SLACK, enforcement=enforcement) as fp,
        httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
    ):
        first = await client.post("/v1/messages", headers=ANTHROPIC_AUTH, json=_body())
        assert first.status_code == 200
        # The write was charged: little more than the slack is left.
        remaining = int(first.headers["anthropic-ratelimit-input-tokens-remaining"])
        assert remaining <= SLACK + 1
        second = await client.post(
            "/v1/messages", headers=ANTHROPIC_AUTH, json=_body("second question")
        )
    if reads_count:
        assert second.status_code == 429  # the cached prefix counts again
        return
    assert second.status_code == 200
    usage = second.json()["usage"]
    assert usage["cache_read_input_tokens"] == first.json()["usage"]["cache_creation_input_tokens"]
    assert usage["input_tokens"] < SLACK  # only the uncached tail was charged
