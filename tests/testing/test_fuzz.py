"""Whatever JSON a client sends, every route answers 200 or a 4xx and keeps serving."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callboard.testing import FakeProvider

from .conftest import ANTHROPIC_AUTH, OPENAI_AUTH

_ROUTES = [
    "/v1/chat/completions",
    "/v1/messages",
    "/v1/embeddings",
    "/v1/moderations",
    "/v1/images/generations",
    "/v1/audio/speech",
    "/v1/rerank",
    "/v1/responses",
]
_SCALARS = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=8)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_FIELDS = st.sampled_from(
    [
        "model",
        "messages",
        "max_tokens",
        "stream",
        "input",
        "n",
        "dimensions",
        "query",
        "documents",
        "system",
        "voice",
        "prompt",
        "encoding_format",
        "stream_options",
        "role",
        "content",
        "top_n",
        "tools",
        "tool_choice",
        "parallel_tool_calls",
        "thinking",
        "logprobs",
        "top_logprobs",
        "reasoning_effort",
        "reasoning",
        "include",
        "instructions",
        "max_output_tokens",
        "previous_response_id",
    ]
)
_MODELS = st.sampled_from(
    ["gpt-4o", "claude-haiku-4-5", "text-embedding-3-small", "tts-1", "rerank-v3.5", "dall-e-3"]
)
_BODIES = st.dictionaries(_FIELDS, _VALUES | _MODELS, max_size=6)
_BLOCKS = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["text", "thinking", "redacted_thinking", "tool_use", "tool_result"]
        ),
        "text": _VALUES,
        "thinking": _VALUES,
        "signature": _VALUES,
        "data": _VALUES,
        "cache_control": _VALUES | st.just({"type": "ephemeral"}),
    }
)
_MESSAGE_LISTS = st.lists(
    st.fixed_dictionaries(
        {
            "role": st.sampled_from(["user", "assistant", "tool", "x"]),
            "content": _VALUES | st.lists(_BLOCKS, max_size=2),
        }
    ),
    max_size=3,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    route=st.sampled_from(_ROUTES),
    body=_BODIES,
    messages=st.none() | _MESSAGE_LISTS,
)
def test_random_bodies_never_crash_the_server(
    route: str, body: dict[str, Any], messages: list[dict[str, Any]] | None
) -> None:
    if messages is not None:
        body["messages"] = messages

    async def main() -> None:
        async with (
            FakeProvider() as fp,
            httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
        ):
            headers = ANTHROPIC_AUTH if route == "/v1/messages" else OPENAI_AUTH
            response = await client.post(route, headers=headers, content=json.dumps(body))
            assert response.status_code == 200 or 400 <= response.status_code < 500
            if response.status_code != 200:
                error = response.json()["error"]
                assert isinstance(error["message"], str)
            again = await client.post(
                "/v1/moderations", headers=OPENAI_AUTH, json={"input": "still alive"}
            )
            assert again.status_code == 200

    trio.run(main)
