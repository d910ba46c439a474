"""``POST /v1/chat/completions`` in OpenAI's wire format, JSON and SSE.

Besides the echo reply (see ``_content``): ``n`` choices (choice ``i`` > 0 echoes with
``<digest>/<i>``), tool calls (see ``_tools``; streamed in pieces), refusals (see
``_answer``), ``logprobs`` / ``top_logprobs``, hidden reasoning tokens for
``reasoning_effort`` (see ``_thinking``) and the automatic prompt cache (see
``_cache``).
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from ._answer import FLAG_WORD, REFUSAL_WORDS, Answer, Spoken, speak
from ._cache import CachePoint
from ._content import content_text, digest, estimate_prompt_tokens, estimate_tokens
from ._logprobs import token_entries, top_count
from ._request import RouteContext, check_model, field, parse_json, positive_int
from ._thinking import reasoning_tokens
from ._tools import choose_calls
from ._wire import BadRequest, Body, Prepared, Sse, json_bytes, sse_frame

__all__ = ["DEFAULT_MAX_TOKENS", "chat_completions", "tools_tokens"]

DEFAULT_MAX_TOKENS = 256
"""What a chat request without ``max_tokens`` is charged for (and may produce)."""

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[Any] = field(body, "messages", list, required=True)
    if not messages:
        raise BadRequest(400, "'messages' must contain at least one message.", param="messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:  # pyright: ignore[reportUnknownMemberType]
            raise BadRequest(
                400,
                f"Invalid value for 'messages[{index}]': each message needs a 'role' "
                f"among {sorted(_ROLES)}.",
                param=f"messages[{index}]",
            )
    return messages


def tools_tokens(tools: object) -> int:
    """Prompt tokens of the tool definitions: a quarter of their JSON's length."""
    return estimate_tokens(json_bytes(tools).decode()) if tools else 0


def _tokens(words: tuple[str, ...]) -> list[str]:
    return [word if n == 0 else f" {word}" for n, word in enumerate(words)]


def _call_id(tag: str, choice: int, index: int) -> str:
    return "call_" + hashlib.sha256(f"{tag}/{choice}/{index}".encode()).hexdigest()[:24]


class _Chat:
    """One request's reply, spelled as JSON or as chunks."""

    def __init__(self, body: dict[str, Any], context: RouteContext) -> None:
        self.model = check_model(body, context)
        messages = _messages(body)
        self.stream: bool = field(body, "stream", bool, default=False)
        options: dict[str, Any] = field(body, "stream_options", dict, default={})
        self.include_usage = self.stream and options.get("include_usage") is True
        max_tokens = positive_int(body, "max_completion_tokens", None) or positive_int(
            body, "max_tokens", DEFAULT_MAX_TOKENS
        )
        assert max_tokens is not None
        self.max_tokens = max_tokens
        self.n = positive_int(body, "n", 1, maximum=128) or 1
        self.logprobs: bool = field(body, "logprobs", bool, default=False)
        self.top = top_count(body)
        if self.top and not self.logprobs:
            raise BadRequest(
                400, "'logprobs' must be true when 'top_logprobs' is set.", param="logprobs"
            )
        hidden = reasoning_tokens(body.get("reasoning_effort")) if "reasoning_effort" in body else 0

        tools = body.get("tools")
        self.prompt = estimate_prompt_tokens("", [m.get("content") for m in messages])
        self.prompt += tools_tokens(tools)
        last = messages[-1]
        answering_user = last["role"] == "user"
        user = next((m for m in reversed(messages) if m["role"] == "user"), last)
        user_text = content_text(user.get("content"))[0]
        echoed = user_text if answering_user else content_text(last.get("content"))[0]
        self.tag = digest(self.model, messages)
        refused = answering_user and FLAG_WORD in user_text
        calls = (
            ()
            if refused
            else tuple(choose_calls(body, "chat", user_text, answering_user=answering_user))
        )
        self.spoken: list[Spoken] = []
        for i in range(self.n):
            head = f"{self.tag}:" if i == 0 else f"{self.tag}/{i}:"
            words = () if refused or calls else ("echo", head, *echoed.split())
            answer = Answer(
                words=words, hidden=hidden, refusal=REFUSAL_WORDS if refused else (), calls=calls
            )
            self.spoken.append(speak(answer, max_tokens))
        self.cached = 0
        if context.cache is not None:
            points = [
                CachePoint(
                    digest(self.model, tools, messages[: k + 1]),
                    estimate_prompt_tokens("", [m.get("content") for m in messages[: k + 1]])
                    + tools_tokens(tools),
                )
                for k in range(len(messages))
            ]
            self.cached = context.cache.automatic(self.model, points, context.now).read
        self.ident = f"chatcmpl-{self.tag}{context.number:06d}"
        self.created = context.created

    def finish(self, spoken: Spoken) -> str:
        if spoken.cut:
            return "length"
        return "tool_calls" if spoken.calls else "stop"

    def usage(self) -> dict[str, Any]:
        completion = sum(s.tokens for s in self.spoken)
        return {
            "prompt_tokens": self.prompt,
            "completion_tokens": completion,
            "total_tokens": self.prompt + completion,
            "prompt_tokens_details": {"cached_tokens": self.cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": sum(s.hidden for s in self.spoken),
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def message(self, i: int, spoken: Spoken) -> dict[str, Any]:
        text = " ".join(spoken.words)
        quiet = bool(spoken.calls or spoken.refusal)
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if quiet and not text else text,
            "refusal": " ".join(spoken.refusal) if spoken.refusal else None,
            "annotations": [],
        }
        if spoken.calls:
            message["tool_calls"] = [
                {
                    "id": _call_id(self.tag, i, k),
                    "type": "function",
                    "function": {"name": call.name, "arguments": spoken.arguments(k)},
                }
                for k, call in enumerate(spoken.calls)
            ]
        return message

    def choice_logprobs(self, spoken: Spoken) -> dict[str, Any] | None:
        if not self.logprobs:
            return None
        text = _tokens(spoken.words)
        refusal = _tokens(spoken.refusal)
        return {
            "content": token_entries(text, 0, self.top) if text else None,
            "refusal": token_entries(refusal, 0, self.top) if refusal else None,
        }

    def json(self) -> bytes:
        choices = [
            {
                "index": i,
                "message": self.message(i, spoken),
                "logprobs": self.choice_logprobs(spoken),
                "finish_reason": self.finish(spoken),
            }
            for i, spoken in enumerate(self.spoken)
        ]
        return json_bytes(
            {
                "id": self.ident,
                "object": "chat.completion",
                "created": self.created,
                "model": self.model,
                "choices": choices,
                "usage": self.usage(),
                "service_tier": "default",
                "system_fingerprint": "fp_callboard",
            }
        )

    def chunk(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        payload: dict[str, Any] = {
            "id": self.ident,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "service_tier": "default",
            "system_fingerprint": "fp_callboard",
            "choices": choices,
        }
        if self.include_usage:
            payload["usage"] = None
        payload.update(extra)
        return sse_frame(payload)

    def pieces(self, i: int, spoken: Spoken) -> list[dict[str, Any]]:
        """Choice ``i``'s deltas (with their logprobs) after its first, role-only one."""
        out: list[dict[str, Any]] = []
        for position, token in enumerate(_tokens(spoken.words)):
            logprobs = {"content": token_entries([token], position, self.top), "refusal": None}
            out.append(self._delta(i, {"content": token}, logprobs))
        for position, token in enumerate(_tokens(spoken.refusal)):
            logprobs = {"content": None, "refusal": token_entries([token], position, self.top)}
            out.append(self._delta(i, {"refusal": token}, logprobs))
        for k, call in enumerate(spoken.calls):
            start: dict[str, Any] = {"index": k, "id": _call_id(self.tag, i, k), "type": "function"}
            start["function"] = {"name": call.name, "arguments": ""}
            out.append(self._delta(i, {"tool_calls": [start]}))
            for piece in call.pieces()[: spoken.pieces[k]]:
                part = {"index": k, "function": {"arguments": piece}}
                out.append(self._delta(i, {"tool_calls": [part]}))
        return out

    def _delta(
        self, i: int, content: dict[str, Any], logprobs: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return {
            "index": i,
            "delta": content,
            "logprobs": logprobs if self.logprobs else None,
            "finish_reason": None,
        }

    def sse(self) -> Sse:
        frames: list[bytes] = []
        for i, spoken in enumerate(self.spoken):
            first = {"role": "assistant", "content": None if spoken.calls else "", "refusal": None}
            frames.append(self.chunk([self._delta(i, first)]))
        streams = [self.pieces(i, spoken) for i, spoken in enumerate(self.spoken)]
        for step in itertools.zip_longest(*streams):
            frames.extend(self.chunk([piece]) for piece in step if piece is not None)  # pyright: ignore[reportUnknownArgumentType]
        closing = [
            self.chunk([{**self._delta(i, {}), "finish_reason": self.finish(spoken)}])
            for i, spoken in enumerate(self.spoken)
        ]
        if self.include_usage:
            closing.append(self.chunk([], usage=self.usage()))
        closing.append(b"data: [DONE]\n\n")
        error = sse_frame(
            {
                "error": {
                    "message": "The server had an error while processing your request.",
                    "type": "server_error",
                    "param": None,
                    "code": None,
                }
            }
        )
        return Sse(tuple(frames + closing), len(closing), error)


def chat_completions(data: bytes, context: RouteContext) -> Prepared:
    """Answer a chat completion request deterministically (see ``_content``)."""
    chat = _Chat(parse_json(data), context)
    charge = chat.prompt + chat.max_tokens * chat.n
    output = sum(s.tokens for s in chat.spoken)
    used = chat.prompt + output
    reply = chat.sse() if chat.stream else Body(200, "application/json", chat.json())
    return Prepared(reply, charge, used, output_tokens=output)
