"""What a stream hands over as it goes: one [`StreamDelta`][callboard.StreamDelta] per step."""

from __future__ import annotations

import attrs

from ._normalized import Usage
from ._parts import Logprobs

__all__ = ["StreamDelta", "ThinkingDelta", "ToolCallDelta"]


@attrs.frozen
class ToolCallDelta:
    """A piece of a tool call as it streams in.

    ``index`` identifies the call within its choice; ``id`` and ``name`` arrive with the
    first piece, ``arguments`` is a fragment of JSON text to append.
    """

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


@attrs.frozen
class ThinkingDelta:
    """A piece of a reasoning block as it streams in.

    ``index`` identifies the block among the response's reasoning blocks. The first
    piece of a block names its ``kind`` (``"thinking"``, ``"redacted_thinking"``,
    ``"reasoning"``) and, for a reasoning item, its ``id``; then ``text`` fragments
    follow, and a thinking block's ``signature`` arrives last. A redacted block comes
    whole, its encrypted ``data`` in one piece.
    """

    index: int
    kind: str = "thinking"
    text: str = ""
    signature: str = ""
    data: str | None = attrs.field(default=None, repr=False)
    id: str | None = None


@attrs.frozen
class StreamDelta:
    """One step of a streamed response.

    Exactly the fields that changed are set: ``text`` for a text fragment, ``refusal``
    for a fragment of a refusal, ``tool_call`` for a tool-call fragment, ``thinking``
    for a fragment of the model's reasoning, ``logprobs`` for the fragment's token
    log probabilities, ``usage`` when the provider reports (cumulative) usage,
    ``finish_reason`` when the model stopped. ``choice`` says which choice it belongs
    to (0 unless the request asked for ``n`` > 1).

    ``content`` is ``text`` under the name lionpride's StreamChannel consumers use
    (``channel.add_consumer(lambda chunk: print(chunk.content, end=""))``).

    Example:
        >>> delta = StreamDelta(text="Hel")
        >>> delta.content
        'Hel'
    """

    text: str = ""
    tool_call: ToolCallDelta | None = None
    usage: Usage | None = None
    finish_reason: str | None = None
    refusal: str = ""
    thinking: ThinkingDelta | None = None
    logprobs: Logprobs | None = None
    choice: int = 0

    @property
    def content(self) -> str:
        """The text fragment (``text``), by the seeds' name."""
        return self.text
