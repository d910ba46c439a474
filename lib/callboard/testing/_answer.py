"""What the fake model says, before each API spells it: one ``Answer`` per choice,
cut to the output limit as ``Spoken``.

Every unit of output is one token: a word of thinking, a hidden reasoning token, a
word of text or of a refusal, a tool call's name and each piece of its arguments. The
model produces them in that order, so ``max_tokens`` cuts the thinking first, then the
text, then the tool calls, a call's arguments possibly mid-JSON (``finish_reason:
"length"``, ``stop_reason: "max_tokens"``). The refusal comes from the chat routes'
refusal trigger: a user message holding ``FLAG_WORD`` (which the moderation route
flags) is refused.
"""

from __future__ import annotations

import attrs

from ._tools import FakeCall

__all__ = ["FLAG_WORD", "REFUSAL_WORDS", "Answer", "Spoken", "speak"]

FLAG_WORD = "FLAGME"
"""A user message holding this word is refused by the chat routes and flagged for
``violence`` by the moderation route."""

REFUSAL_WORDS = ("I'm", "sorry,", "but", "I", "can't", "help", "with", "that.")


@attrs.frozen
class Answer:
    """Everything one choice would say with no output limit."""

    words: tuple[str, ...] = ()
    thinking: tuple[str, ...] = ()
    hidden: int = 0  # reasoning tokens never shown (OpenAI) or redacted (Anthropic)
    redacted: bool = False
    refusal: tuple[str, ...] = ()
    calls: tuple[FakeCall, ...] = ()


@attrs.frozen
class Spoken:
    """What fit within the output limit; ``pieces[i]`` argument pieces of ``calls[i]``."""

    words: tuple[str, ...]
    thinking: tuple[str, ...]
    hidden: int
    redacted: bool
    refusal: tuple[str, ...]
    calls: tuple[FakeCall, ...]
    pieces: tuple[int, ...]
    cut: bool
    tokens: int

    def arguments(self, index: int) -> str:
        """The argument text of call ``index`` as far as it was produced."""
        return "".join(self.calls[index].pieces()[: self.pieces[index]])


def speak(answer: Answer, limit: int) -> Spoken:
    """``answer`` cut to ``limit`` output tokens."""
    left = limit

    def take(count: int) -> int:
        nonlocal left
        used = min(count, left)
        left -= used
        return used

    thinking = answer.thinking[: take(len(answer.thinking))]
    hidden = take(answer.hidden)
    words = answer.words[: take(len(answer.words))]
    refusal = answer.refusal[: take(len(answer.refusal))]
    calls: list[FakeCall] = []
    pieces: list[int] = []
    for call in answer.calls:
        if not take(1):
            break
        calls.append(call)
        pieces.append(take(len(call.pieces())))
    needed = (
        len(answer.thinking) + answer.hidden + len(answer.words) + len(answer.refusal)
        + sum(1 + len(call.pieces()) for call in answer.calls)
    )  # fmt: skip
    return Spoken(
        words=words,
        thinking=thinking,
        hidden=hidden,
        redacted=answer.redacted,
        refusal=refusal,
        calls=tuple(calls),
        pieces=tuple(pieces),
        cut=needed > limit,
        tokens=limit - left,
    )
