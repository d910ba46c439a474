"""Property tests: whatever a provider sends, the decoders answer or raise a typed error.

The documented shapes (a chat completion with tool calls, a refusal and logprobs; a
Messages reply with thinking, tool use and cache usage; a Responses object with a
reasoning item; their streams) are mutated at any one place into any JSON value (deep
nesting, huge numbers, NaN, the wrong type), or replaced by arbitrary bytes. Reading
them must give a NormalizedResponse or raise a ProviderError (InvalidResponse, the
typed error an error object names, StreamInterrupted for a stream left unfinished);
never anything else, which on the Endpoint would be an actor crash. And the partial JSON
reader agrees with the official SDKs' (``jiter``'s partial mode) on every cut-off JSON.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jiter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callboard.providers import (
    ModelType,
    NormalizedResponse,
    get_provider,
    parse_partial_json,
    parse_response,
    stream_decoder,
)
from callboard.resilience import ProviderError

CHAT_BODY: dict[str, Any] = {
    "id": "chatcmpl-9",
    "object": "chat.completion",
    "model": "gpt-4o",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "refusal": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "f", "arguments": "{\"a\": 1}"}}
                ],
            },
            "logprobs": {"content": [{"token": "a", "logprob": -0.1, "bytes": [97],
                                      "top_logprobs": [{"token": "a", "logprob": -0.1}]}],
                         "refusal": None},
            "finish_reason": "tool_calls",
        },
        {"index": 1, "message": {"role": "assistant", "content": None, "refusal": "no"},
         "logprobs": None, "finish_reason": "stop"},
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12,
              "prompt_tokens_details": {"cached_tokens": 2},
              "completion_tokens_details": {"reasoning_tokens": 3}},
}  # fmt: skip
MESSAGE_BODY: dict[str, Any] = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-6",
    "content": [
        {"type": "thinking", "thinking": "hmm", "signature": "c2ln"},
        {"type": "redacted_thinking", "data": "ZGF0YQ=="},
        {"type": "text", "text": "calling"},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, 2]}},
    ],
    "stop_reason": "tool_use",
    "stop_details": None,
    "usage": {"input_tokens": 4, "output_tokens": 9, "cache_creation_input_tokens": 1,
              "cache_read_input_tokens": 2, "output_tokens_details": {"thinking_tokens": 3}},
}  # fmt: skip
RESPONSE_BODY: dict[str, Any] = {
    "id": "resp_1",
    "object": "response",
    "status": "incomplete",
    "incomplete_details": {"reason": "max_output_tokens"},
    "model": "o4-mini",
    "output": [
        {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "s"}],
         "encrypted_content": "enc"},
        {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
         "content": [{"type": "output_text", "text": "hi", "annotations": [],
                      "logprobs": [{"token": "hi", "logprob": -1.0, "bytes": [104, 105],
                                    "top_logprobs": []}]},
                     {"type": "refusal", "refusal": "no"}]},
        {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "f",
         "arguments": "{\"a\":"},
    ],
    "usage": {"input_tokens": 3, "input_tokens_details": {"cached_tokens": 0},
              "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 2},
              "total_tokens": 8},
}  # fmt: skip

CHAT_EVENTS: list[tuple[str, Any]] = [
    ("message", {"id": "c", "model": "gpt-4o", "choices": [
        {"index": 0, "delta": {"role": "assistant", "content": "", "refusal": None},
         "logprobs": None, "finish_reason": None}]}),
    ("message", {"choices": [{"index": 0, "delta": {"content": "hi"},
                              "logprobs": {"content": [{"token": "hi", "logprob": -1,
                                                        "top_logprobs": []}]},
                              "finish_reason": None}]}),
    ("message", {"choices": [{"index": 1, "delta": {"refusal": "no"}, "finish_reason": None}]}),
    ("message", {"choices": [{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "call_1", "function": {"name": "f", "arguments": "{\"a\""}}]},
        "finish_reason": None}]}),
    ("message", {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"},
                             {"index": 1, "delta": {}, "finish_reason": "stop"}]}),
    ("message", {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2,
                                          "total_tokens": 3}}),
]  # fmt: skip
ANTHROPIC_EVENTS: list[tuple[str, Any]] = [
    ("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "model": "m", "content": [], "usage": {"input_tokens": 3,
                                                              "output_tokens": 1}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0,
                             "content_block": {"type": "thinking", "thinking": ""}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "thinking_delta", "thinking": "hmm"}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "signature_delta", "signature": "c2ln"}}),
    ("content_block_start", {"type": "content_block_start", "index": 1,
                             "content_block": {"type": "tool_use", "id": "t", "name": "f",
                                               "input": {}}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 1,
                             "delta": {"type": "input_json_delta", "partial_json": "{\"a\":1}"}}),
    ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"},
                       "usage": {"output_tokens": 9, "cache_read_input_tokens": 2}}),
    ("message_stop", {"type": "message_stop"}),
]  # fmt: skip
RESPONSES_EVENTS: list[tuple[str, Any]] = [
    ("response.created", {"type": "response.created", "response": {"id": "resp_1",
                                                                  "model": "o4-mini"}}),
    ("response.output_item.added", {"type": "response.output_item.added", "output_index": 0,
                                    "item": {"type": "reasoning", "id": "rs_1", "summary": []}}),
    ("response.reasoning_summary_text.delta", {"type": "response.reasoning_summary_text.delta",
                                               "output_index": 0, "summary_index": 0,
                                               "delta": "s"}),
    ("response.output_item.added", {"type": "response.output_item.added", "output_index": 1,
                                    "item": {"type": "function_call", "call_id": "call_1",
                                             "name": "f", "arguments": ""}}),
    ("response.function_call_arguments.delta", {"type": "response.function_call_arguments.delta",
                                                "output_index": 1, "delta": "{}"}),
    ("response.completed", {"type": "response.completed", "response": RESPONSE_BODY}),
]  # fmt: skip

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**40, max_value=10**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
# Hypothesis raises the recursion limit while a test runs: nest far beyond any limit.
RAW_REPLACEMENTS = st.sampled_from(
    [b"[" * 60_000 + b"]" * 60_000, b'{"a":' * 60_000 + b"1" + b"}" * 60_000, b"9" * 5000, b"NaN",
     b"-Infinity", b'"\\ud800"', b"1e999999"]
)  # fmt: skip


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    mutated = copy.deepcopy(value)
    target = mutated
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return mutated


_MARK = "\u0000raw\u0000"


def _encoded(value: Any, path: tuple[Any, ...], replacement: Any) -> bytes:
    """``value`` with ``path`` replaced: by a JSON value, or by raw JSON text (bytes)."""
    if isinstance(replacement, bytes):
        text = json.dumps(_replace(value, path, _MARK)).encode()
        return text.replace(json.dumps(_MARK).encode(), replacement)
    return json.dumps(_replace(value, path, replacement)).encode()


def _read(provider: str, kind: ModelType, body: bytes) -> None:
    try:
        response = parse_response(
            get_provider(provider),
            kind,
            status=200,
            headers={"content-type": "application/json"},
            body=body,
        )
    except ProviderError:
        return
    assert isinstance(response, NormalizedResponse)
    assert len(response.choices) >= 1


DOCUMENTS = [
    ("openai", ModelType.CHAT, CHAT_BODY),
    ("anthropic", ModelType.CHAT, MESSAGE_BODY),
    ("openai", ModelType.RESPONSES, RESPONSE_BODY),
]
STREAMS = [
    ("openai", ModelType.CHAT, CHAT_EVENTS),
    ("anthropic", ModelType.CHAT, ANTHROPIC_EVENTS),
    ("openai", ModelType.RESPONSES, RESPONSES_EVENTS),
]
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_the_unmutated_documents_read_whole() -> None:
    for provider, kind, document in DOCUMENTS:
        _read(provider, kind, json.dumps(document).encode())
    chat = parse_response(get_provider("openai"), "chat", status=200, headers={},
                          body=json.dumps(CHAT_BODY).encode())  # fmt: skip
    assert [c.refusal for c in chat.choices] == [None, "no"]
    assert chat.usage is not None and chat.usage.reasoning_tokens == 3


@FAST
@given(data=st.data(), replacement=JSON_VALUES | RAW_REPLACEMENTS)
def test_a_body_mutated_anywhere_reads_or_is_invalid(data: st.DataObject, replacement: Any) -> None:
    provider, kind, document = data.draw(st.sampled_from(DOCUMENTS))
    path = data.draw(st.sampled_from(_paths(document)))
    _read(provider, kind, _encoded(document, path, replacement))


@FAST
@given(body=st.binary(max_size=300))
def test_arbitrary_bytes_read_or_are_invalid(body: bytes) -> None:
    for provider, kind, _ in DOCUMENTS:
        _read(provider, kind, body)


@FAST
@given(data=st.data(), replacement=JSON_VALUES | RAW_REPLACEMENTS)
def test_a_stream_mutated_anywhere_decodes_or_fails_typed(
    data: st.DataObject, replacement: Any
) -> None:
    provider, kind, events = data.draw(st.sampled_from(STREAMS))
    position = data.draw(st.integers(0, len(events) - 1))
    name, payload = events[position]
    path = data.draw(st.sampled_from(_paths(payload) or [()]))
    mutated = _encoded(payload, path, replacement) if path else json.dumps(replacement).encode()
    decoder = stream_decoder(get_provider(provider), model_type=kind)
    try:
        for index, (event, body) in enumerate(events):
            raw = mutated if index == position else json.dumps(body).encode()
            decoder.feed(event if index != position else name, raw.decode("utf-8", "replace"))
        response = decoder.result()
    except ProviderError:
        return
    assert isinstance(response, NormalizedResponse)


JSON_DOCUMENTS = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False,
        allow_infinity=False, width=32) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=4),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(document=JSON_DOCUMENTS, cut=st.integers(min_value=1), spaced=st.booleans())
def test_partial_json_reads_a_cut_off_text_as_the_sdks_do(
    document: Any, cut: int, spaced: bool
) -> None:
    text = json.dumps(document, separators=(", ", ": ") if spaced else (",", ":"))
    prefix = text[: 1 + cut % len(text)]
    try:
        expected: Any = jiter.from_json(prefix.encode(), partial_mode=True)
    except ValueError:
        expected = ValueError
    try:
        found: Any = parse_partial_json(prefix)
    except ValueError:
        found = ValueError
    assert found == expected, prefix
