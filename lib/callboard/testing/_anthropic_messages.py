"""``POST /v1/messages`` in Anthropic's wire format, JSON and SSE.

Besides the echo reply (see ``_content``): extended thinking with signed (or redacted)
blocks, checked when they come back (see ``_thinking``), tool use (see ``_tools``;
input streamed in pieces), refusals (``stop_reason: "refusal"``, see ``_answer`` and
``_thinking.REFUSAL_TRIGGER``) and prompt caching with ``cache_control`` (see
``_cache``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ._answer import FLAG_WORD, Answer, Spoken, speak
from ._cache import CachePoint, CacheUse
from ._content import content_text, digest, estimate_prompt_tokens
from ._openai_chat import tools_tokens
from ._request import RouteContext, check_model, field, parse_json, positive_int
from ._thinking import (
    REDACTED_THINKING_TRIGGER,
    REFUSAL_TRIGGER,
    check_sent_thinking,
    redacted_data,
    sign,
    thinking_budget,
)
from ._tools import FakeCall, choose_calls
from ._wire import BadRequest, Body, Prepared, Sse, json_bytes, sse_frame

__all__ = ["messages"]

_TTL = {"5m": 300.0, "1h": 3600.0}


def _checked_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[Any] = field(body, "messages", list, required=True)
    if not messages:
        raise BadRequest(400, "messages: at least one message is required")
    for index, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or message.get("role") not in ("user", "assistant")  # pyright: ignore[reportUnknownMemberType]
            or not isinstance(message.get("content"), str | list)  # pyright: ignore[reportUnknownMemberType]
        ):
            raise BadRequest(
                400,
                f"messages.{index}: each message needs a 'role' of 'user' or 'assistant' "
                "and a 'content' string or list of blocks",
            )
    if messages[0]["role"] != "user":
        raise BadRequest(400, "messages: the first message must use the 'user' role")
    return messages


def _blocks(content: object) -> list[dict[str, Any]]:
    if not isinstance(content, list):
        return []
    return [block for block in content if isinstance(block, dict)]  # pyright: ignore[reportUnknownVariableType]


def _tool_results_text(message: dict[str, Any]) -> str | None:
    """The text of the tool results ``message`` carries, ``None`` when it has none."""
    results = [b for b in _blocks(message.get("content")) if b.get("type") == "tool_result"]
    if not results:
        return None
    return " ".join(content_text(block.get("content", ""))[0] for block in results)


def _ttl(block: dict[str, Any]) -> float | None:
    control = block.get("cache_control")
    if not isinstance(control, dict) or control.get("type") != "ephemeral":  # pyright: ignore[reportUnknownMemberType]
        return None
    ttl = control.get("ttl", "5m")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    if ttl not in _TTL:
        raise BadRequest(400, f"cache_control.ttl: Input should be '5m' or '1h', got {ttl!r}")
    return _TTL[ttl]


def _cache_points(
    model: str, tools: list[Any], system: str | list[Any], conversation: list[dict[str, Any]]
) -> list[CachePoint]:
    """Every ``cache_control`` breakpoint, in prompt order (tools, system, messages),
    with the tokens of the prompt up to and including it."""

    def point(
        tools_: list[Any], system_: str | list[Any], messages_: list[Any], ttl: float
    ) -> CachePoint:
        tokens = estimate_prompt_tokens(
            content_text(system_)[0], [m["content"] for m in messages_]
        ) + tools_tokens(tools_)
        return CachePoint(digest(model, tools_, system_, messages_), tokens, ttl)

    points: list[CachePoint] = []
    for i, tool in enumerate(tools):
        ttl = _ttl(tool) if isinstance(tool, dict) else None  # pyright: ignore[reportUnknownArgumentType]
        if ttl is not None:
            points.append(point(tools[: i + 1], "", [], ttl))
    if isinstance(system, list):
        for j, block in enumerate(_blocks(system)):
            ttl = _ttl(block)
            if ttl is not None:
                points.append(point(tools, system[: j + 1], [], ttl))
    for m, message in enumerate(conversation):
        content = message["content"]
        for b, block in enumerate(_blocks(content)):
            ttl = _ttl(block)
            if ttl is not None:
                cut = {**message, "content": content[: b + 1]}
                points.append(point(tools, system, [*conversation[:m], cut], ttl))
    return points


def _tool_id(tag: str, index: int) -> str:
    return "toolu_01" + hashlib.sha256(f"{tag}/{index}".encode()).hexdigest()[:22]


def _partial_input(call: FakeCall, delivered: str) -> dict[str, Any]:
    """The members of ``call``'s arguments whose JSON arrived whole in ``delivered``."""
    kept: dict[str, Any] = {}
    end = 1  # past the opening brace
    for key, value in call.arguments.items():
        member = json.dumps({key: value}, separators=(",", ":"))[1:-1]
        end += len(member) + (1 if kept else 0)
        if end > len(delivered):
            break
        kept[key] = value
    return kept


class _Message:
    """One request's reply, spelled as a message or as its events."""

    def __init__(self, body: dict[str, Any], context: RouteContext) -> None:
        self.model = check_model(body, context)
        max_tokens = positive_int(body, "max_tokens", None)
        if max_tokens is None:
            raise BadRequest(400, "max_tokens: Field required")
        conversation = _checked_messages(body)
        system_field: str | list[Any] = field(body, "system", (str, list), default="")
        system = content_text(system_field)[0]
        self.stream: bool = field(body, "stream", bool, default=False)
        tools: list[Any] = field(body, "tools", list, default=[])
        budget = thinking_budget(body, max_tokens)
        check_sent_thinking(conversation, context.signing_key, enabled=budget is not None)
        choice = body.get("tool_choice")
        forced = isinstance(choice, dict) and choice.get("type") in ("any", "tool")  # pyright: ignore[reportUnknownMemberType]
        if budget is not None and forced:
            raise BadRequest(400, "Thinking may not be enabled when tool_choice forces tool use.")
        self.key = context.signing_key

        self.prompt = estimate_prompt_tokens(system, [m["content"] for m in conversation])
        self.prompt += tools_tokens(tools)
        last = conversation[-1]
        results = _tool_results_text(last) if last["role"] == "user" else None
        answering_user = last["role"] == "user" and results is None
        user = next(m for m in reversed(conversation) if m["role"] == "user")
        user_text = content_text(user["content"])[0]
        self.tag = digest(self.model, system_field, conversation)
        self.refused = answering_user and (FLAG_WORD in user_text or REFUSAL_TRIGGER in user_text)
        thinks = budget is not None and answering_user and not self.refused
        redacted = thinks and REDACTED_THINKING_TRIGGER in user_text
        thought = ("Thinking", "about", f"{self.tag}:", *user_text.split())
        calls = (
            ()
            if self.refused
            else tuple(choose_calls(body, "messages", user_text, answering_user=answering_user))
        )
        echoed = user_text if results is None else results
        if self.refused:
            words: tuple[str, ...] = ()
        elif calls:
            words = ("calling", *(call.name for call in calls))
        else:
            words = ("echo", f"{self.tag}:", *echoed.split())
        answer = Answer(
            words=words,
            thinking=thought[: budget or 0] if thinks and not redacted else (),
            hidden=len(thought) if redacted else 0,
            redacted=redacted,
            calls=calls,
        )
        self.spoken: Spoken = speak(answer, max_tokens)
        self.cache = CacheUse()
        if context.cache is not None:
            points = _cache_points(self.model, tools, system_field, conversation)
            self.cache = context.cache.explicit(self.model, points, context.now)
        self.thinking = budget is not None
        self.ident = f"msg_{self.tag}{context.number:016d}"
        self.max_tokens = max_tokens

    @property
    def stop_reason(self) -> str:
        if self.refused:
            return "refusal"
        if self.spoken.cut:
            return "max_tokens"
        return "tool_use" if self.spoken.calls else "end_turn"

    def stop_details(self) -> dict[str, Any] | None:
        if not self.refused:
            return None
        return {
            "type": "refusal",
            "category": None,
            "explanation": f"The request was declined (it holds {FLAG_WORD}).",
        }

    def usage(self, output: int | None = None) -> dict[str, Any]:
        spoken = self.spoken
        read, written = self.cache.read, self.cache.written
        usage: dict[str, Any] = {
            "input_tokens": self.prompt - read - written,
            "output_tokens": spoken.tokens if output is None else output,
            "cache_creation_input_tokens": written,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": written,
                "ephemeral_1h_input_tokens": 0,
            },
            "server_tool_use": None,
            "service_tier": "standard",
        }
        if self.thinking:
            usage["output_tokens_details"] = {
                "thinking_tokens": len(spoken.thinking) + spoken.hidden
            }
        return usage

    def blocks(self) -> list[dict[str, Any]]:
        spoken = self.spoken
        blocks: list[dict[str, Any]] = []
        if spoken.redacted:
            blocks.append({"type": "redacted_thinking", "data": redacted_data(self.key, self.tag)})
        elif spoken.thinking:
            text = " ".join(spoken.thinking)
            blocks.append({"type": "thinking", "thinking": text, "signature": sign(self.key, text)})
        if spoken.words:
            blocks.append({"type": "text", "text": " ".join(spoken.words)})
        for k, call in enumerate(spoken.calls):
            arguments = spoken.arguments(k)
            complete = spoken.pieces[k] == len(call.pieces())
            blocks.append(
                {
                    "type": "tool_use",
                    "id": _tool_id(self.tag, k),
                    "name": call.name,
                    "input": call.arguments if complete else _partial_input(call, arguments),
                }
            )
        return blocks

    def message(self) -> dict[str, Any]:
        return {
            "id": self.ident,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": self.blocks(),
            "stop_reason": self.stop_reason,
            "stop_sequence": None,
            "stop_details": self.stop_details(),
            "usage": self.usage(),
        }

    def events(self) -> Sse:
        start: dict[str, Any] = {**self.message(), "content": [], "stop_reason": None}
        start["stop_details"] = None
        start["usage"] = self.usage(output=1)
        frames = [sse_frame({"type": "message_start", "message": start}, "message_start")]
        for index, block in enumerate(self.blocks()):
            events = self._block_events(index, block)
            if index == 0:
                events.insert(1, sse_frame({"type": "ping"}, "ping"))
            frames += events
        delta: dict[str, Any] = {"stop_reason": self.stop_reason, "stop_sequence": None}
        if self.refused:
            delta["stop_details"] = self.stop_details()
        closing = [
            # Anthropic's message_delta usage is cumulative, not an increment.
            sse_frame(
                {"type": "message_delta", "delta": delta, "usage": self.usage()}, "message_delta"
            ),
            sse_frame({"type": "message_stop"}, "message_stop"),
        ]
        tail = len(closing) + (1 if len(frames) > 1 else 0)  # the last block's stop too
        error = sse_frame(
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            "error",
        )
        return Sse(tuple(frames + closing), tail, error)

    def _block_events(self, index: int, block: dict[str, Any]) -> list[bytes]:
        def event(kind: str, **fields: Any) -> bytes:
            return sse_frame({"type": kind, "index": index, **fields}, kind)

        def delta(**fields: Any) -> bytes:
            return event("content_block_delta", delta=fields)

        kind = block["type"]
        frames: list[bytes] = []
        if kind == "thinking":
            frames.append(
                event(
                    "content_block_start",
                    content_block={"type": "thinking", "thinking": "", "signature": ""},
                )
            )
            for n, word in enumerate(self.spoken.thinking):
                frames.append(delta(type="thinking_delta", thinking=word if n == 0 else f" {word}"))
            frames.append(delta(type="signature_delta", signature=block["signature"]))
        elif kind == "redacted_thinking":
            frames.append(event("content_block_start", content_block=block))
        elif kind == "text":
            frames.append(event("content_block_start", content_block={"type": "text", "text": ""}))
            for n, word in enumerate(self.spoken.words):
                frames.append(delta(type="text_delta", text=word if n == 0 else f" {word}"))
        else:
            ordinal = [b for b in self.blocks() if b["type"] == "tool_use"].index(block)
            call = self.spoken.calls[ordinal]
            start: dict[str, Any] = {**block, "input": {}}
            frames.append(event("content_block_start", content_block=start))
            frames.append(delta(type="input_json_delta", partial_json=""))
            for piece in call.pieces()[: self.spoken.pieces[ordinal]]:
                frames.append(delta(type="input_json_delta", partial_json=piece))
        frames.append(event("content_block_stop"))
        return frames


def messages(data: bytes, context: RouteContext) -> Prepared:
    """Answer a Messages API request deterministically (see ``_content``)."""
    reply = _Message(parse_json(data), context)
    charge, used = reply.prompt + reply.max_tokens, reply.prompt + reply.spoken.tokens
    answer = (
        reply.events()
        if reply.stream
        else Body(200, "application/json", json_bytes(reply.message()))
    )
    return Prepared(
        answer,
        charge,
        used,
        output_tokens=reply.spoken.tokens,
        cache_read_tokens=reply.cache.read,
    )
