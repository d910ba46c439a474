"""OpenAI's Responses API (``POST /v1/responses``): a ``response`` object into the
normalized shape.

A response's ``output`` is a list of items: ``message`` (its ``output_text`` parts are
the text, a ``refusal`` part a refusal), ``function_call`` (a tool call, answered by a
``function_call_output`` naming its ``call_id``) and ``reasoning`` (a summary of the
model's reasoning, and its ``encrypted_content`` when ``include`` asked for it). The
output items are also the response's ``turn``: sent
back in the next request's ``input``, they carry the reasoning on to the next step.
"""

from __future__ import annotations

from callboard.resilience import InvalidResponse, error_from_type

from ._body import Body, get_list, get_str, openai_usage, opt_list, opt_map, opt_str, want_map
from ._logprobs import token_logprobs
from ._normalized import Choice, NormalizedResponse
from ._parts import Logprobs, Thinking, TokenLogprob, ToolCall, mark_cut

__all__ = ["parse_responses", "responses_error", "responses_finish"]


def parse_responses(body: Body, *, where: str = "body") -> NormalizedResponse:
    """Read a ``response`` object (provider left unset).

    Raises:
        InvalidResponse: it is not a response, or an output item is malformed.
        ProviderError: the response says it failed (``status: "failed"``), typed by its
            ``error.code``.
    """
    kind = body.get("object")
    if kind is not None and kind != "response":
        raise InvalidResponse(f"expected a body of object 'response', got {kind!r}"[:200])
    status = get_str(body, "status", where, optional=True)
    if status == "failed":
        raise responses_error(body.get("error"))
    texts: list[str] = []
    refusals: list[str] = []
    calls: list[ToolCall] = []
    thinking: list[Thinking] = []
    logprobs: list[TokenLogprob] = []
    output = get_list(body, "output", where)
    for n, entry in enumerate(output):
        here = f"{where}.output[{n}]"
        item = want_map(entry, here)
        item_type = item.get("type")
        if item_type == "message":
            for m, part_entry in enumerate(opt_list(item, "content", here)):
                part = want_map(part_entry, f"{here}.content[{m}]")
                if part.get("type") == "output_text":
                    texts.append(get_str(part, "text", f"{here}.content[{m}]") or "")
                    logprobs += token_logprobs(part.get("logprobs"), f"{here}.content[{m}]")
                elif part.get("type") == "refusal":
                    refusals.append(get_str(part, "refusal", f"{here}.content[{m}]") or "")
        elif item_type == "function_call":
            calls.append(
                ToolCall(
                    id=get_str(item, "call_id", here) or "",
                    name=get_str(item, "name", here) or "",
                    arguments=get_str(item, "arguments", here, optional=True) or "",
                )
            )
        elif item_type == "reasoning":
            thinking.append(_reasoning(item, here))
    finish = responses_finish(body, status)
    choice = Choice(
        text="".join(texts),
        tool_calls=mark_cut(tuple(calls), finish),
        refusal="".join(refusals) if refusals else None,
        finish_reason=finish,
        logprobs=Logprobs(content=tuple(logprobs)) if logprobs else None,
    )
    return NormalizedResponse(
        text=choice.text,
        tool_calls=choice.tool_calls,
        usage=openai_usage(body.get("usage")),
        finish_reason=finish,
        model=opt_str(body, "model"),
        raw=body,
        id=opt_str(body, "id"),
        refusal=choice.refusal,
        thinking=tuple(thinking),
        logprobs=choice.logprobs,
        choices=(choice,),
        turn=tuple(want_map(item, where) for item in output),
    )


def _reasoning(item: Body, where: str) -> Thinking:
    parts = [
        want_map(part, f"{where}.summary[{n}]")
        for n, part in enumerate(opt_list(item, "summary", where))
    ]
    if not parts:
        parts = [
            want_map(part, f"{where}.content[{n}]")
            for n, part in enumerate(opt_list(item, "content", where))
        ]
    texts = [get_str(part, "text", f"{where}.summary") or "" for part in parts]
    return Thinking(
        kind="reasoning",
        text="\n\n".join(texts),
        data=get_str(item, "encrypted_content", where, optional=True),
        id=get_str(item, "id", where, optional=True),
    )


def responses_finish(body: Body, status: str | None) -> str | None:
    """Why the response stopped: the ``incomplete_details.reason`` of an incomplete one
    (``"max_output_tokens"``, ``"content_filter"``), else its ``status``."""
    if status == "incomplete":
        details = opt_map(body, "incomplete_details")
        reason = opt_str(details, "reason") if details is not None else None
        return reason or status
    return status


def responses_error(
    error: object, *, provider: str | None = None, calling_id: str | None = None
) -> Exception:
    """The typed error of a failed response's (or an ``error`` event's) ``error``."""
    fields: Body = want_map(error, "error") if error is not None else {}
    code = opt_str(fields, "code") or opt_str(fields, "type")
    message = opt_str(fields, "message") or "the response failed without a message"
    return error_from_type(code, message[:2000], provider=provider, calling_id=calling_id)
