"""Hostile bytes in a 200 answer fail that call with InvalidResponse, and nothing else.

A raw-socket server (``server.py``) answers with what a broken proxy or an adversary
might send: JSON nested 1,100 levels deep (which once raised RecursionError inside the
parser: an actor crash, an Endpoint restart, three retries, EndpointRestarted, and after
two such answers a dead model), numbers of 5,000 digits, invalid UTF-8, the wrong type
at each level of the documented shapes, huge strings; as a JSON body and as SSE events.
Each one must end as InvalidResponse for that call only, on a started model and on an
inline one: the Endpoint is not restarted, nothing is retried, and the next call
succeeds.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio

from callboard import InvalidResponse, RetryPolicy, iModel

from .server import HostileServer, Move, Request, chunked, respond

DEEP = b"[" * 1100 + b"]" * 1100  # 2.2 KB
DEEP_OBJECT = b'{"a":' * 1100 + b"1" + b"}" * 1100
DIGITS = b"7" * 5000
GOOD_CHAT = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}
GOOD_MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5",
    "content": [{"type": "text", "text": "fine"}],
    "stop_reason": "end_turn",
    "usage": {"input_tokens": 3, "output_tokens": 1},
}


def _chat_with(path: tuple[str | int, ...], value: bytes) -> bytes:
    """GOOD_CHAT with the value at ``path`` replaced by the raw JSON text ``value``."""
    marker = "\u0000HOSTILE\u0000"
    body: Any = json.loads(json.dumps(GOOD_CHAT))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = marker
    return json.dumps(body).replace(json.dumps(marker), "%s").encode() % value


JSON_BODIES = {
    "deep array": DEEP,
    "deep object": DEEP_OBJECT,
    "deep content": _chat_with(("choices", 0, "message", "content"), DEEP),
    "deep usage": _chat_with(("usage",), DEEP_OBJECT),
    "deep tool arguments": _chat_with(
        ("choices", 0, "message", "tool_calls"),
        b'[{"id":"c","function":{"name":"f","arguments":' + DEEP + b"}}]",
    ),
    "5000-digit number": DIGITS,
    "5000-digit token count": _chat_with(("usage", "prompt_tokens"), DIGITS),
    "5000-digit index": _chat_with(("choices", 0, "index"), DIGITS),
    "huge exponent logprob": _chat_with(
        ("choices", 0, "logprobs"),
        b'{"content":[{"token":"a","logprob":-1e999999,"top_logprobs":[]}]}',
    ),
    "huge int logprob": _chat_with(
        ("choices", 0, "logprobs"),
        b'{"content":[{"token":"a","logprob":' + b"9" * 4000 + b',"top_logprobs":[]}]}',
    ),
    "invalid utf-8": b'{"choices":[{"message":{"content":"\xff\xfe\xc3"}}]}',
    "lone surrogate escape": _chat_with(("choices", 0, "message", "content"), b'"\\ud800"'),
    "choices is a number": _chat_with(("choices",), b"5"),
    "choice is a string": _chat_with(("choices", 0), b'"x"'),
    "message is a list": _chat_with(("choices", 0, "message"), b"[]"),
    "content is a number": _chat_with(("choices", 0, "message", "content"), b"12"),
    "tool_calls is a number": _chat_with(("choices", 0, "message", "tool_calls"), b"7"),
    "tool call function is null": _chat_with(
        ("choices", 0, "message", "tool_calls"), b'[{"id":"c","function":null}]'
    ),
    "logprobs content is an object": _chat_with(("choices", 0, "logprobs"), b'{"content":{"a":1}}'),
    "logprob bytes are text": _chat_with(
        ("choices", 0, "logprobs"), b'{"content":[{"token":"a","logprob":-1,"bytes":"ab"}]}'
    ),
    "refusal is a number": _chat_with(("choices", 0, "message", "refusal"), b"3"),
    "finish_reason is an object": _chat_with(("choices", 0, "finish_reason"), b"{}"),
    "a body that is a string": b'"just a string"',
    "huge content": _chat_with(
        ("choices", 0, "message", "content"), b'"' + b"x" * 8_000_000 + b'"'
    ),
    "huge key": _chat_with(("usage",), b'{"' + b"k" * 2_000_000 + b'": 1}'),
}


def _chunk(raw_choice: bytes) -> bytes:
    """One chat chunk event whose only choice is the raw JSON ``raw_choice``."""
    return b'data: {"choices":[' + raw_choice + b"]}\n\n"


def _event(kind: str, raw_fields: bytes) -> bytes:
    """One Messages stream event of ``kind`` with the raw JSON members ``raw_fields``."""
    head = f'event: {kind}\ndata: {{"type":"{kind}",'.encode()
    return head + raw_fields + b"}\n\n"


SSE_STREAMS = {
    "deep event": b"data: " + DEEP + b"\n\n",
    "deep delta": _chunk(b'{"index":0,"delta":{"content":' + DEEP + b"}}"),
    "5000-digit index": _chunk(b'{"index":' + DIGITS + b',"delta":{"content":"a"}}'),
    "invalid utf-8": _chunk(b'{"index":0,"delta":{"content":"\xff\xfe"}}'),
    "choices is a number": b'data: {"choices":5}\n\n',
    "content is a number": _chunk(b'{"index":0,"delta":{"content":5}}'),
    "tool_calls is a number": _chunk(b'{"index":0,"delta":{"tool_calls":7}}'),
    "tool call is a string": _chunk(b'{"index":0,"delta":{"tool_calls":["x"]}}'),
    "logprobs are a string": _chunk(b'{"index":0,"delta":{"content":"a"},"logprobs":"x"}'),
    "error message is deep": b'data: {"error":{"message":' + DEEP + b"}}\n\n",
    "large delta": _chunk(b'{"index":0,"delta":{"content":"' + b"y" * 900_000 + b'"}}'),
    # Past the transport's 1 MiB event limit: InvalidResponse from the transport.
    "huge delta": _chunk(b'{"index":0,"delta":{"content":"' + b"y" * 4_000_000 + b'"}}'),
}

ANTHROPIC_SSE = {
    "content_block is a number": _event("content_block_start", b'"index":0,"content_block":5'),
    "delta is a list": _event("content_block_delta", b'"index":0,"delta":[]'),
    "deep tool input": _event(
        "content_block_start",
        b'"index":0,"content_block":{"type":"tool_use","id":"t","name":"n","input":'
        + DEEP_OBJECT
        + b"}",
    ),
    "message is a string": _event("message_start", b'"message":"x"'),
    "thinking text is a number": _event(
        "content_block_start", b'"index":0,"content_block":{"type":"thinking","thinking":""}'
    )
    + _event("content_block_delta", b'"index":0,"delta":{"type":"thinking_delta","thinking":5}'),
}


def _sse(events: bytes, anthropic: bool = False) -> list[Move]:
    """``events``, then the stream's proper end (so only the hostile event can fail it)."""
    head = [("content-type", "text/event-stream"), ("transfer-encoding", "chunked")]
    return [respond(200, head, chunked(events, _good_stream(anthropic)), length=False)]


class Script:
    """Answers the next request with ``hostile``, and every later one well."""

    def __init__(self) -> None:
        self.hostile: list[Move] | None = None

    async def __call__(self, request: Request) -> list[Move]:
        moves, self.hostile = self.hostile, None
        if moves is not None:
            return moves
        streaming = json.loads(request.body).get("stream") is True
        good = GOOD_MESSAGE if request.path.endswith("/messages") else GOOD_CHAT
        if streaming:
            return _sse(b"", request.path.endswith("/messages"))
        return [respond(200, [("content-type", "application/json")], json.dumps(good).encode())]


def _good_stream(anthropic: bool) -> bytes:
    if anthropic:
        events = [
            (
                "message_start",
                {"type": "message_start", "message": {**GOOD_MESSAGE, "content": []}},
            ),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": "fine"},
                },
            ),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn"},
                    "usage": {"output_tokens": 1},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        return b"".join(
            f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events
        )
    chunk = {
        "id": "c",
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {"content": "fine"}, "finish_reason": "stop"}],
    }
    return f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()


def _model(server: HostileServer, provider: str) -> iModel:
    return iModel(
        provider=provider,
        base_url=f"{server.base_url}/v1",
        api_key="sk-hostile-test-key",
        model="claude-haiku-4-5" if provider == "anthropic" else "gpt-4o",
        timeout=None,
        retry=RetryPolicy(max_retries=3, base_delay=0.01),  # would retry if it were retryable
    )


async def _hostile_then_good(
    server: HostileServer,
    script: Script,
    model: iModel,
    moves: list[Move],
    stream: bool,
    tolerated: bool,
) -> None:
    before = len(server.requests)
    script.hostile = moves
    try:
        await _call(model, stream)
    except InvalidResponse as error:
        assert error.status == 200 or error.status is None
    else:
        # Legal JSON that is merely odd (an infinite logprob, a lone surrogate escape,
        # replaced invalid UTF-8 in an event): an answer, as the SDKs read it.
        assert tolerated, "no InvalidResponse for a hostile answer"
    assert len(server.requests) == before + 1, "an InvalidResponse is not retried"
    text = await _call(model, stream)
    assert text == "fine"


async def _call(model: iModel, stream: bool) -> str:
    messages = [{"role": "user", "content": "hi"}]
    if stream:
        return "".join([piece async for piece in model.invoke_stream(messages=messages)])
    calling = await model.invoke(messages=messages)
    return calling.response.text


def _message(raw_content: bytes, extra: bytes = b"") -> bytes:
    """A Messages body whose ``content`` is the raw JSON ``raw_content``."""
    return b'{"type":"message","content":' + raw_content + extra + b"}"


DEEP_TOOL = b'[{"type":"tool_use","id":"t","name":"n","input":' + DEEP_OBJECT + b"}]"
ANTHROPIC_BODIES = {
    "deep": DEEP,
    "deep content": _message(b'[{"type":"text","text":' + DEEP + b"}]"),
    "deep tool input": _message(DEEP_TOOL),
    "content is a number": _message(b"5"),
    "thinking is a list": _message(b'[{"type":"thinking","thinking":[]}]'),
    "deep usage": _message(b"[]", b',"usage":' + DEEP_OBJECT),
}


# Legal JSON that is merely odd, read as the SDKs read it; every other case is invalid.
TOLERATED = frozenset(
    {
        "openai-json-huge exponent logprob",
        "openai-json-lone surrogate escape",
        "openai-sse-invalid utf-8",
        # Huge but well-formed: an answer (the transports bound what they read).
        "openai-json-huge content",
        "openai-json-huge key",
        "openai-sse-large delta",
    }
)

CASES = [
    *[
        pytest.param("openai", data, False, id=f"openai-json-{name}")
        for name, data in JSON_BODIES.items()
    ],
    *[
        pytest.param("openai", data, True, id=f"openai-sse-{name}")
        for name, data in SSE_STREAMS.items()
    ],
    *[
        pytest.param("anthropic", data, False, id=f"anthropic-json-{name}")
        for name, data in ANTHROPIC_BODIES.items()
    ],
    *[
        pytest.param("anthropic", data, True, id=f"anthropic-sse-{name}")
        for name, data in ANTHROPIC_SSE.items()
    ],
]


@pytest.mark.parametrize("started", [True, False], ids=["started", "inline"])
@pytest.mark.parametrize(("provider", "data", "stream"), CASES)
async def test_hostile_bytes_fail_that_call_only(
    provider: str, data: bytes, stream: bool, started: bool, request: pytest.FixtureRequest
) -> None:
    case = request.node.callspec.id.rsplit("-", 1)[0]  # pyright: ignore[reportAttributeAccessIssue]
    tolerated = case in TOLERATED
    script = Script()
    json_head = [("content-type", "application/json")]
    moves = _sse(data, provider == "anthropic") if stream else [respond(200, json_head, data)]
    async with HostileServer(script) as server:
        model = _model(server, provider)
        if not started:
            with trio.fail_after(30):
                await _hostile_then_good(server, script, model, moves, stream, tolerated)
            return
        async with model:
            endpoint = model.backend
            runs = endpoint.runs  # pyright: ignore[reportAttributeAccessIssue]
            with trio.fail_after(30):
                await _hostile_then_good(server, script, model, moves, stream, tolerated)
            assert endpoint.runs == runs, "the Endpoint restarted"  # pyright: ignore[reportAttributeAccessIssue]


async def test_two_deeply_nested_answers_in_a_row_do_not_kill_a_started_model() -> None:
    # The original report: two such answers within 5 s made the supervisor give up.
    script = Script()
    async with HostileServer(script) as server:
        model = _model(server, "openai")
        async with model:
            for _ in range(3):
                script.hostile = [respond(200, [("content-type", "application/json")], DEEP)]
                with pytest.raises(InvalidResponse, match="not JSON"):
                    await _call(model, stream=False)
            assert await _call(model, stream=False) == "fine"
