"""``POST /v1/responses``: OpenAI's Responses API, JSON and SSE.

The reply is the chat route's echo, as a ``message`` output item; tool calls are
``function_call`` items (see ``_tools``), a refusal a ``refusal`` content part.
``reasoning`` (``{"effort": ..., "summary": "auto"}``) makes the model reason: hidden
``reasoning_tokens`` (see ``_thinking``) and a ``reasoning`` item first, with a summary
when one is asked for and ``encrypted_content`` when ``include`` holds
``"reasoning.encrypted_content"``. ``include: ["message.output_text.logprobs"]`` adds
log probabilities; ``max_output_tokens`` cuts the output (``status: "incomplete"``).
A stream sends the documented events, ending with ``response.completed`` (or
``response.incomplete``) carrying the whole response.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ._answer import FLAG_WORD, REFUSAL_WORDS, Answer, speak
from ._cache import CachePoint
from ._content import digest, estimate_prompt_tokens
from ._logprobs import token_entries, top_count
from ._openai_chat import tools_tokens
from ._request import RouteContext, check_model, field, parse_json, positive_int
from ._responses_input import encrypted_reasoning, read_input
from ._thinking import reasoning_tokens
from ._tools import choose_calls
from ._wire import BadRequest, Body, Prepared, Sse, json_bytes, sse_frame

__all__ = ["responses"]

_DEFAULT_MAX_OUTPUT = 1024
_INCLUDABLE = frozenset(
    {
        "reasoning.encrypted_content",
        "message.output_text.logprobs",
        "web_search_call.action.sources",
        "code_interpreter_call.outputs",
        "file_search_call.results",
        "message.input_image.image_url",
        "computer_call_output.output.image_url",
    }
)


def _include(body: dict[str, Any]) -> frozenset[str]:
    value: list[Any] = field(body, "include", list, default=[])
    for entry in value:
        if entry not in _INCLUDABLE:
            raise BadRequest(400, f"Invalid value in 'include': {entry!r}.", param="include")
    return frozenset(value)


def _words(words: tuple[str, ...]) -> list[str]:
    return [word if n == 0 else f" {word}" for n, word in enumerate(words)]


class _Response:
    """One request's reply, spelled as a response object or as its events."""

    def __init__(self, body: dict[str, Any], context: RouteContext) -> None:
        self.model = check_model(body, context)
        if body.get("previous_response_id") is not None:
            raise BadRequest(
                400, "The fake provider stores no responses: send the conversation in 'input'.",
                param="previous_response_id",
            )  # fmt: skip
        conversation = read_input(body.get("input"), context.signing_key)
        instructions: str = field(body, "instructions", str, default="")
        self.stream: bool = field(body, "stream", bool, default=False)
        self.max_output = positive_int(body, "max_output_tokens", None)
        include = _include(body)
        self.logprobs = "message.output_text.logprobs" in include
        self.top = top_count(body)
        reasoning: dict[str, Any] | None = field(body, "reasoning", dict, default=None)
        summary = reasoning.get("summary") if reasoning is not None else None
        if summary not in (None, "auto", "concise", "detailed"):
            raise BadRequest(
                400,
                f"Invalid value for 'reasoning.summary': {summary!r}.",
                param="reasoning.summary",
            )
        hidden = reasoning_tokens(reasoning.get("effort")) if reasoning is not None else 0
        tools: list[Any] = field(body, "tools", list, default=[])

        self.prompt = estimate_prompt_tokens(instructions, conversation.contents) + tools_tokens(
            tools
        )
        answering_user = conversation.tool_outputs is None
        user_text = conversation.user_text
        self.tag = digest(self.model, instructions, conversation.items)
        self.refused = answering_user and FLAG_WORD in user_text
        calls = (
            ()
            if self.refused
            else tuple(choose_calls(body, "responses", user_text, answering_user=answering_user))
        )
        echoed = user_text if answering_user else (conversation.tool_outputs or "")
        words = () if self.refused or calls else ("echo", f"{self.tag}:", *echoed.split())
        answer = Answer(
            words=words, hidden=hidden, refusal=REFUSAL_WORDS if self.refused else (), calls=calls
        )
        self.spoken = speak(answer, self.max_output or _DEFAULT_MAX_OUTPUT)
        self.reasoned = reasoning is not None
        self.summary = (
            ("Reasoned", "about", f"{self.tag}:", *user_text.split())
            if summary and answering_user
            else ()
        )
        self.sealed = (
            encrypted_reasoning(context.signing_key, f"rs_{self.tag}")
            if "reasoning.encrypted_content" in include
            else None
        )
        self.cached = 0
        if context.cache is not None:
            items = conversation.items
            points = [
                CachePoint(
                    digest(self.model, tools, instructions, items[: k + 1]),
                    estimate_prompt_tokens(instructions, conversation.contents[: k + 1])
                    + tools_tokens(tools),
                )
                for k in range(len(items))
            ]
            self.cached = context.cache.automatic(self.model, points, context.now).read
        self.echo: dict[str, Any] = {
            "instructions": instructions or None,
            "max_output_tokens": self.max_output,
            "parallel_tool_calls": body.get("parallel_tool_calls", True) is not False,
            "reasoning": {"effort": reasoning.get("effort", "medium"), "summary": summary}
            if reasoning
            else {"effort": None, "summary": None},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": [{"strict": True, **t} if isinstance(t, dict) else t for t in tools],  # pyright: ignore[reportUnknownVariableType]
        }
        self.ident = f"resp_{self.tag}{context.number:016d}"
        self.created = context.created

    # -- the response object ---------------------------------------------------------

    def items(self, *, done: bool = True) -> list[dict[str, Any]]:
        spoken, status = self.spoken, "incomplete" if self.spoken.cut else "completed"
        items: list[dict[str, Any]] = []
        if self.reasoned:
            item: dict[str, Any] = {"id": f"rs_{self.tag}", "type": "reasoning", "summary": []}
            if self.summary and done:
                item["summary"] = [{"type": "summary_text", "text": " ".join(self.summary)}]
            if self.sealed is not None:
                item["encrypted_content"] = self.sealed
            items.append(item)
        if spoken.words or spoken.refusal or not spoken.calls:
            part: dict[str, Any] = (
                {"type": "refusal", "refusal": " ".join(spoken.refusal)}
                if spoken.refusal
                else {"type": "output_text", "text": " ".join(spoken.words), "annotations": []}
            )
            if self.logprobs and not spoken.refusal:
                part["logprobs"] = token_entries(_words(spoken.words), 0, self.top)
            items.append(
                {
                    "id": f"msg_{self.tag}",
                    "type": "message",
                    "status": status,
                    "role": "assistant",
                    "content": [part] if done else [],
                }
            )
        for k, call in enumerate(spoken.calls):
            items.append(
                {
                    "id": self._call_item_id(k),
                    "type": "function_call",
                    "status": "completed"
                    if spoken.pieces[k] == len(call.pieces())
                    else "incomplete",
                    "call_id": "call_"
                    + hashlib.sha256(f"{self.tag}/{k}".encode()).hexdigest()[:24],
                    "name": call.name,
                    "arguments": spoken.arguments(k) if done else "",
                }
            )
        return items

    def _call_item_id(self, index: int) -> str:
        # Calls made while reasoning name their reasoning item: it must come back too.
        return f"fc_r{self.tag}{index:02d}" if self.reasoned else f"fc_{self.tag}{index:02d}"

    def usage(self) -> dict[str, Any]:
        spoken = self.spoken
        return {
            "input_tokens": self.prompt,
            "input_tokens_details": {"cached_tokens": self.cached, "cache_write_tokens": 0},
            "output_tokens": spoken.tokens,
            "output_tokens_details": {"reasoning_tokens": spoken.hidden},
            "total_tokens": self.prompt + spoken.tokens,
        }

    def response(self, *, final: bool = True) -> dict[str, Any]:
        cut = self.spoken.cut
        return {
            "id": self.ident,
            "object": "response",
            "created_at": self.created,
            "status": ("incomplete" if cut else "completed") if final else "in_progress",
            "background": False,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if cut and final else None,
            "model": self.model,
            "output": self.items() if final else [],
            "previous_response_id": None,
            "store": True,
            "temperature": 1.0,
            "text": {"format": {"type": "text"}},
            "top_p": 1.0,
            "truncation": "disabled",
            "usage": self.usage() if final else None,
            "metadata": {},
            **self.echo,
        }

    # -- the stream ------------------------------------------------------------------

    def events(self) -> Sse:
        frames: list[bytes] = []

        def emit(kind: str, **fields: Any) -> None:
            frames.append(sse_frame({"type": kind, "sequence_number": len(frames), **fields}, kind))

        emit("response.created", response=self.response(final=False))
        emit("response.in_progress", response=self.response(final=False))
        finals = self.items()
        for index, (start, item) in enumerate(zip(self.items(done=False), finals, strict=True)):
            emit("response.output_item.added", output_index=index, item=start)
            if item["type"] == "reasoning":
                self._summary_events(emit, index, item)
            elif item["type"] == "message":
                self._message_events(emit, index, item)
            else:
                ordinal = [i for i in finals if i["type"] == "function_call"].index(item)
                for piece in self.spoken.calls[ordinal].pieces()[: self.spoken.pieces[ordinal]]:
                    emit(
                        "response.function_call_arguments.delta",
                        item_id=item["id"],
                        output_index=index,
                        delta=piece,
                    )
                emit(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    arguments=item["arguments"],
                )
            emit("response.output_item.done", output_index=index, item=item)
        final = self.response()
        emit(f"response.{final['status']}", response=final)
        error = sse_frame(
            {
                "type": "error",
                "code": "server_error",
                "message": "The server had an error while processing your request.",
                "param": None,
                "sequence_number": 0,
            },
            "error",
        )
        return Sse(tuple(frames), 1, error)

    def _summary_events(self, emit: Any, index: int, item: dict[str, Any]) -> None:
        if not item["summary"]:
            return
        ident, text = item["id"], item["summary"][0]["text"]
        emit(
            "response.reasoning_summary_part.added",
            item_id=ident,
            output_index=index,
            summary_index=0,
            part={"type": "summary_text", "text": ""},
        )
        for word in _words(self.summary):
            emit(
                "response.reasoning_summary_text.delta",
                item_id=ident,
                output_index=index,
                summary_index=0,
                delta=word,
            )
        emit(
            "response.reasoning_summary_text.done",
            item_id=ident,
            output_index=index,
            summary_index=0,
            text=text,
        )
        emit(
            "response.reasoning_summary_part.done",
            item_id=ident,
            output_index=index,
            summary_index=0,
            part={"type": "summary_text", "text": text},
        )

    def _message_events(self, emit: Any, index: int, item: dict[str, Any]) -> None:
        ident, part = item["id"], item["content"][0]
        where = {"item_id": ident, "output_index": index, "content_index": 0}
        if part["type"] == "refusal":
            emit("response.content_part.added", **where, part={"type": "refusal", "refusal": ""})
            for word in _words(self.spoken.refusal):
                emit("response.refusal.delta", **where, delta=word)
            emit("response.refusal.done", **where, refusal=part["refusal"])
        else:
            emit(
                "response.content_part.added",
                **where,
                part={"type": "output_text", "text": "", "annotations": []},
            )
            for position, word in enumerate(_words(self.spoken.words)):
                logprobs = (
                    token_entries([word], position, self.top, with_bytes=False)
                    if self.logprobs
                    else []
                )
                emit("response.output_text.delta", **where, delta=word, logprobs=logprobs)
            emit(
                "response.output_text.done",
                **where,
                text=part["text"],
                logprobs=part.get("logprobs", []),
            )
        emit("response.content_part.done", **where, part=part)


def responses(data: bytes, context: RouteContext) -> Prepared:
    """Answer a Responses API request deterministically (see ``_content``)."""
    reply = _Response(parse_json(data), context)
    limit = reply.max_output or _DEFAULT_MAX_OUTPUT
    charge, used = reply.prompt + limit, reply.prompt + reply.spoken.tokens
    answer = (
        reply.events()
        if reply.stream
        else Body(200, "application/json", json_bytes(reply.response()))
    )
    return Prepared(answer, charge, used, output_tokens=reply.spoken.tokens)
