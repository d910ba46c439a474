from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from callboard.testing import FakeProvider

KEY = "test-key"

# The SDKs stop iterating their nested SSE generators at the final event without closing
# them; trio's async-generator finalizer then warns. That is the SDK's code, not ours.
sdk_stream = pytest.mark.filterwarnings(
    r"ignore:Async generator '(openai|anthropic|httpx2|httpcore2)\.:ResourceWarning"
)
OPENAI_AUTH = {"authorization": f"Bearer {KEY}"}
ANTHROPIC_AUTH = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}


def chat(content: str = "hello there", **extra: object) -> dict[str, object]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": content}], **extra}


def message(content: str = "hello there", **extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": content}],
    }
    body.update(extra)
    return body


@pytest.fixture
async def fp() -> AsyncIterator[FakeProvider]:
    async with FakeProvider() as provider:
        yield provider


@pytest.fixture
async def client(fp: FakeProvider) -> AsyncIterator[httpx2.AsyncClient]:
    # timeout=None: under MockClock a client deadline would fire while waiting on I/O.
    async with httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as http:
        yield http
