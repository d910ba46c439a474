"""The fake provider's shapes, asked for the way the real APIs are asked.

The SDK-parity table (tests/providers/test_sdk_parity.py) checks that the official SDKs
read every shape; this checks the rules behind them, on raw JSON: which tools get
called, how ``max_tokens`` cuts, what the prompt caches keep and for how long, the
checks on thinking sent back, and the 404 of an allow-listed provider.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
import trio

from callboard.testing import DEFAULT_MODELS, FakeProvider

from .conftest import ANTHROPIC_AUTH, OPENAI_AUTH

LONG = "A long and stable system prompt. " * 140  # ~1,160 tokens: cacheable
WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"enum": ["c", "f"]},
        "n": {"type": "integer", "minimum": 2},
    },
    "required": ["city", "unit", "n"],
}


def chat_tool(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": WEATHER}}


async def post(client: httpx2.AsyncClient, path: str, body: dict[str, Any]) -> httpx2.Response:
    headers = ANTHROPIC_AUTH if path == "/v1/messages" else OPENAI_AUTH
    return await client.post(path, headers=headers, json=body)


def chat(content: str = "Oslo", **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": content}], **extra}


def message(content: Any = "Oslo", **extra: Any) -> dict[str, Any]:
    return {
        "model": "claude-haiku-4-5",
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": content}],
        **extra,
    }


async def test_tools_are_called_as_tool_choice_and_parallel_calls_say(
    client: httpx2.AsyncClient,
) -> None:
    tools = [chat_tool("a"), chat_tool("b")]
    both = (await post(client, "/v1/chat/completions", chat(tools=tools))).json()
    calls = both["choices"][0]["message"]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["a", "b"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"city": "Oslo", "unit": "c", "n": 2}
    assert both["choices"][0]["finish_reason"] == "tool_calls"
    one = (
        await post(client, "/v1/chat/completions", chat(tools=tools, parallel_tool_calls=False))
    ).json()
    assert [c["function"]["name"] for c in one["choices"][0]["message"]["tool_calls"]] == ["a"]
    named = chat(tools=tools, tool_choice={"type": "function", "function": {"name": "b"}})
    picked = (await post(client, "/v1/chat/completions", named)).json()
    assert [c["function"]["name"] for c in picked["choices"][0]["message"]["tool_calls"]] == ["b"]
    none = (
        await post(client, "/v1/chat/completions", chat(tools=tools, tool_choice="none"))
    ).json()
    assert none["choices"][0]["message"]["content"].endswith(": Oslo")
    missing = chat(tools=tools, tool_choice={"type": "function", "function": {"name": "zzz"}})
    assert (await post(client, "/v1/chat/completions", missing)).status_code == 400


async def test_max_tokens_cuts_a_tool_call_mid_json(client: httpx2.AsyncClient) -> None:
    body = (
        await post(client, "/v1/chat/completions", chat(tools=[chat_tool("a")], max_tokens=3))
    ).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "length"
    arguments = choice["message"]["tool_calls"][0]["function"]["arguments"]
    assert arguments == '{"city":"Osl' and body["usage"]["completion_tokens"] == 3  # name, 2 pieces
    cut = (
        await post(
            client,
            "/v1/messages",
            message(tools=[{"name": "a", "input_schema": WEATHER}], max_tokens=6),
        )
    ).json()
    assert cut["stop_reason"] == "max_tokens"
    assert cut["content"][-1]["input"] == {"city": "Oslo"}  # the members that arrived whole


async def test_the_anthropic_cache_writes_then_reads_until_it_expires(
    autojump_clock: trio.abc.Clock,
) -> None:
    system = [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]
    async with (
        FakeProvider() as fp,
        httpx2.AsyncClient(base_url=fp.base_url, timeout=None) as client,
    ):
        usages = []
        for wait in (0, 60, 299, 301):
            await trio.sleep(wait)
            reply = (await post(client, "/v1/messages", message(system=system))).json()
            usages.append(reply["usage"])
    assert [u["cache_creation_input_tokens"] for u in usages] == [
        usages[0]["cache_creation_input_tokens"],
        0,
        0,
        usages[0]["cache_creation_input_tokens"],
    ]
    written = usages[0]["cache_creation_input_tokens"]
    assert written >= 1024
    # Each read refreshes the 5-minute lifetime; 301 s of silence lets it expire.
    assert [u["cache_read_input_tokens"] for u in usages] == [0, written, written, 0]
    assert (
        len(
            {
                u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"]
                for u in usages
            }
        )
        == 1
    )


async def test_a_short_prefix_is_never_cached(client: httpx2.AsyncClient) -> None:
    system = [{"type": "text", "text": "short", "cache_control": {"type": "ephemeral"}}]
    for _ in range(2):
        usage = (await post(client, "/v1/messages", message(system=system))).json()["usage"]
        assert (usage["cache_creation_input_tokens"], usage["cache_read_input_tokens"]) == (0, 0)


async def test_openai_caches_a_repeated_prefix_in_steps_of_128(client: httpx2.AsyncClient) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": LONG}, {"role": "user", "content": "one"}],
    }
    first = (await post(client, "/v1/chat/completions", body)).json()["usage"]
    body["messages"][1]["content"] = "another question"
    second = (await post(client, "/v1/chat/completions", body)).json()["usage"]
    assert first["prompt_tokens_details"]["cached_tokens"] == 0
    cached = second["prompt_tokens_details"]["cached_tokens"]
    assert cached >= 1024 and cached % 128 == 0 and cached < second["prompt_tokens"]


async def test_thinking_is_asked_for_within_the_documented_limits(
    client: httpx2.AsyncClient,
) -> None:
    small = message(thinking={"type": "enabled", "budget_tokens": 512})
    assert (await post(client, "/v1/messages", small)).status_code == 400
    over = message(max_tokens=1024, thinking={"type": "enabled", "budget_tokens": 1024})
    assert "greater than" in (await post(client, "/v1/messages", over)).json()["error"]["message"]
    forced = message(
        thinking={"type": "enabled", "budget_tokens": 1024},
        tools=[{"name": "a", "input_schema": WEATHER}],
        tool_choice={"type": "any"},
    )
    assert (await post(client, "/v1/messages", forced)).status_code == 400
    reply = (
        await post(
            client, "/v1/messages", message(thinking={"type": "enabled", "budget_tokens": 1024})
        )
    ).json()
    thinking = reply["content"][0]
    assert thinking["type"] == "thinking" and thinking["signature"]
    assert reply["usage"]["output_tokens_details"]["thinking_tokens"] == len(
        thinking["thinking"].split()
    )


async def test_reasoning_tokens_follow_the_effort(client: httpx2.AsyncClient) -> None:
    found = {}
    for effort in ("minimal", "low", "medium", "high"):
        usage = (await post(client, "/v1/chat/completions", chat(reasoning_effort=effort))).json()[
            "usage"
        ]
        found[effort] = usage["completion_tokens_details"]["reasoning_tokens"]
        assert usage["completion_tokens"] == found[effort] + 3  # "echo", the digest, "Oslo"
    assert found == {"minimal": 0, "low": 16, "medium": 32, "high": 64}
    assert (
        await post(client, "/v1/chat/completions", chat(reasoning_effort="max"))
    ).status_code == 400


async def test_choices_differ_and_logprobs_rank_the_token_first(client: httpx2.AsyncClient) -> None:
    body = (
        await post(client, "/v1/chat/completions", chat(n=2, logprobs=True, top_logprobs=3))
    ).json()
    first, second = body["choices"]
    assert first["message"]["content"] != second["message"]["content"]
    entry = first["logprobs"]["content"][0]
    assert entry["token"] == "echo" and entry["bytes"] == list(b"echo")
    tops = entry["top_logprobs"]
    assert tops[0]["token"] == "echo" and len(tops) == 3
    assert tops[0]["logprob"] == entry["logprob"] > tops[1]["logprob"] > tops[2]["logprob"]
    assert (await post(client, "/v1/chat/completions", chat(top_logprobs=2))).status_code == 400


async def test_responses_checks_what_comes_back(client: httpx2.AsyncClient) -> None:
    orphan = {
        "model": "gpt-5",
        "input": [
            {"role": "user", "content": "x"},
            {"type": "function_call_output", "call_id": "call_none", "output": "1"},
        ],
    }
    assert (
        "No tool call found"
        in (await post(client, "/v1/responses", orphan)).json()["error"]["message"]
    )
    stateful = {"model": "gpt-5", "input": "x", "previous_response_id": "resp_1"}
    assert (await post(client, "/v1/responses", stateful)).status_code == 400
    forged = {
        "model": "gpt-5",
        "input": [
            {"type": "reasoning", "id": "rs_x", "summary": [], "encrypted_content": "forged"},
            {"role": "user", "content": "x"},
        ],
    }
    assert (await post(client, "/v1/responses", forged)).status_code == 400


@pytest.mark.parametrize(
    ("path", "body", "kind"),
    [
        ("/v1/chat/completions", chat(), "invalid_request_error"),
        ("/v1/messages", message(), "not_found_error"),
        ("/v1/responses", {"model": "gpt-5", "input": "x"}, "invalid_request_error"),
    ],
)
async def test_any_model_is_served_unless_an_allow_list_is_given(
    path: str, body: dict[str, Any], kind: str
) -> None:
    unknown = {**body, "model": "model-from-the-future"}
    async with FakeProvider() as fp, httpx2.AsyncClient(base_url=fp.base_url) as client:
        assert (await post(client, path, unknown)).status_code == 200
    async with (
        FakeProvider(models=DEFAULT_MODELS) as fp,
        httpx2.AsyncClient(base_url=fp.base_url) as client,
    ):
        refused = await post(client, path, unknown)
        assert (await post(client, path, body)).status_code == 200
    assert refused.status_code == 404
    assert refused.json()["error"]["type"] == kind
