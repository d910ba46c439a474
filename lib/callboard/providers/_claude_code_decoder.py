"""Read the Claude Code CLI's ``--output-format stream-json`` lines into callboard's shapes.

The CLI prints one JSON object per line: a ``system`` ``init`` message (session id,
model), then ``assistant`` and ``user`` messages as the agent works (text, tool use, tool
results), optionally ``stream_event`` lines carrying raw Messages API stream events (with
``--include-partial-messages``), and last a ``result`` message with the final text,
usage, cost and the session id to resume. This module only decodes; running the process
is ``_claude_code``'s job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

from callboard.resilience import (
    AuthenticationError,
    InvalidResponse,
    Overloaded,
    ProviderError,
    RateLimited,
    StreamInterrupted,
    mask_secrets,
)

from ._anthropic import anthropic_usage
from ._body import Body
from ._delta import StreamDelta
from ._normalized import NormalizedResponse, Usage

__all__ = ["PROVIDER", "ClaudeCodeDecoder", "ClaudeCodeFailed"]

PROVIDER = "claude_code"
_MAX_MESSAGE = 300


class ClaudeCodeFailed(ProviderError):
    """The Claude Code CLI reported a failure it gives no better type for.

    A non-zero exit without a ``result`` line, or a ``result`` with ``is_error`` (running
    out of turns, an error during execution). Not retried: the CLI already retries the
    API calls it makes, so a failure that reaches us is rarely transient.

    Args:
        exit_code: the process's exit status, when it exited.
        subtype: the ``result`` message's ``subtype`` (``"error_max_turns"``), when one
            arrived.
    """

    def __init__(
        self,
        message: str,
        *,
        exit_code: int | None = None,
        subtype: str | None = None,
        calling_id: str | None = None,
    ) -> None:
        super().__init__(message, provider=PROVIDER, calling_id=calling_id, error_type=subtype)
        self.exit_code = exit_code
        self.subtype = subtype


# Words in the CLI's error text that mean a failure callboard has a better type for.
_KEYWORDS: tuple[tuple[tuple[str, ...], type[ProviderError]], ...] = (
    (("invalid api key", "/login", "authentication", "401"), AuthenticationError),
    (("rate limit", "usage limit", "429"), RateLimited),
    (("overloaded", "529"), Overloaded),
)


def failure_from_text(
    text: str,
    *,
    exit_code: int | None = None,
    subtype: str | None = None,
    calling_id: str | None = None,
) -> ProviderError:
    """The typed error for a failure the CLI described in ``text`` (secrets masked)."""
    clean = " ".join(mask_secrets(text).split())
    if len(clean) > _MAX_MESSAGE:
        clean = clean[: _MAX_MESSAGE - 3] + "..."
    how = f"exited with status {exit_code}" if exit_code is not None else "reported an error"
    what = f" ({subtype})" if subtype else ""
    message = f"the Claude Code CLI {how}{what}: {clean or 'no message'}"
    lowered = clean.lower()
    for words, cls in _KEYWORDS:
        if any(word in lowered for word in words):
            return cls(message, provider=PROVIDER, calling_id=calling_id, error_type=subtype)
    return ClaudeCodeFailed(message, exit_code=exit_code, subtype=subtype, calling_id=calling_id)


class ClaudeCodeDecoder:
    """Decodes one CLI run's stream-json lines; create a fresh one per run.

    ``feed()`` returns the deltas a line carried: each assistant text block as it
    arrives (or, when the CLI sends ``stream_event`` lines, their text deltas instead, so
    no text is sent twice), then usage and the finish reason from the ``result`` line.
    ``result()`` gives the final response once the ``result`` line has arrived.

    Args:
        calling_id: carried on errors.
    """

    def __init__(self, *, calling_id: str | None = None) -> None:
        self.calling_id = calling_id
        self.session_id: str | None = None
        self.model: str | None = None
        self.messages: list[Body] = []
        self._texts: list[str] = []
        self._partial = False
        self._result: Body | None = None

    @property
    def text(self) -> str:
        """The assistant text received so far, every turn's blocks joined."""
        return "".join(self._texts)

    @property
    def done(self) -> bool:
        """Whether the ``result`` line has arrived."""
        return self._result is not None

    def feed(self, line: bytes | str) -> list[StreamDelta]:
        """Decode one output line.

        Raises:
            InvalidResponse: the line is not a JSON object.
        """
        if not line.strip():
            return []
        try:
            decoded: object = json.loads(line)
        except ValueError:
            raise InvalidResponse(
                f"the Claude Code CLI printed a line that is not JSON (line "
                f"{len(self.messages) + 1}); run it with --output-format stream-json",
                provider=PROVIDER,
                calling_id=self.calling_id,
            ) from None
        if not isinstance(decoded, Mapping):
            raise InvalidResponse(
                f"the Claude Code CLI printed a JSON {type(decoded).__name__} where a message "
                f"object belongs (line {len(self.messages) + 1})",
                provider=PROVIDER,
                calling_id=self.calling_id,
            )
        message = cast(Body, decoded)
        self.messages.append(message)
        session = message.get("session_id")
        if isinstance(session, str) and session:
            self.session_id = session
        kind = message.get("type")
        if kind == "system":
            model = message.get("model")
            self.model = model if isinstance(model, str) else self.model
            return []
        if kind == "stream_event":
            return self._stream_event(message.get("event"))
        if kind == "assistant":
            return self._assistant(message.get("message"))
        if kind == "result":
            self._result = message
            return self._final(message)
        return []  # user (tool results) and message types added later

    def _assistant(self, value: object) -> list[StreamDelta]:
        if not isinstance(value, Mapping):
            return []
        body = cast(Body, value)
        model = body.get("model")
        self.model = model if isinstance(model, str) and model else self.model
        content = body.get("content")
        if not isinstance(content, list):
            return []
        texts: list[str] = []
        for block in cast(list[object], content):
            if isinstance(block, Mapping):
                fields = cast(Body, block)
                text = fields.get("text")
                if fields.get("type") == "text" and isinstance(text, str) and text:
                    texts.append(text)
        if self._partial:
            return []  # already streamed piece by piece through stream_event lines
        self._texts.extend(texts)
        return [StreamDelta(text=text) for text in texts]

    def _stream_event(self, value: object) -> list[StreamDelta]:
        if not isinstance(value, Mapping):
            return []
        event = cast(Body, value)
        delta = event.get("delta")
        if event.get("type") != "content_block_delta" or not isinstance(delta, Mapping):
            return []
        fields = cast(Body, delta)
        text = fields.get("text")
        if fields.get("type") != "text_delta" or not isinstance(text, str) or not text:
            return []
        self._partial = True
        self._texts.append(text)
        return [StreamDelta(text=text)]

    def _final(self, message: Body) -> list[StreamDelta]:
        deltas: list[StreamDelta] = []
        usage = anthropic_usage(message.get("usage"))
        if usage is not None:
            deltas.append(StreamDelta(usage=usage))
        reason = _finish_reason(message)
        if reason is not None:
            deltas.append(StreamDelta(finish_reason=reason))
        return deltas

    def result(self, *, exit_code: int | None = 0, stderr: str = "") -> NormalizedResponse:
        """The final response of a run that ended with ``exit_code``.

        Args:
            exit_code: the process's exit status.
            stderr: the end of what the process wrote to stderr, for error messages.

        Raises:
            ProviderError: the ``result`` line reports an error, or the CLI exited
                non-zero (typed by what its text says, else ``ClaudeCodeFailed``).
            StreamInterrupted: the output ended without a ``result`` line although the
                CLI exited cleanly; ``partial_text`` holds the text that did arrive.
        """
        final = self._result
        if final is None:
            if exit_code:
                raise failure_from_text(
                    stderr or self.text, exit_code=exit_code, calling_id=self.calling_id
                )
            raise StreamInterrupted(
                f"the Claude Code CLI stopped after {len(self.messages)} lines without a "
                "result line; the partial text is kept on this error",
                partial_text=self.text,
                provider=PROVIDER,
                calling_id=self.calling_id,
            )
        subtype = final.get("subtype")
        kind = subtype if isinstance(subtype, str) else None
        text = final.get("result")
        if final.get("is_error") is True or (kind or "").startswith("error") or exit_code:
            raise failure_from_text(
                text if isinstance(text, str) and text else stderr,
                exit_code=exit_code or None,
                subtype=kind,
                calling_id=self.calling_id,
            )
        usage = anthropic_usage(final.get("usage")) or Usage()
        return NormalizedResponse(
            text=text if isinstance(text, str) else self.text,
            usage=usage,
            finish_reason=_finish_reason(final),
            provider=PROVIDER,
            model=self.model,
            raw=tuple(self.messages),
        )

    @property
    def cost_usd(self) -> float | None:
        """What the CLI says the run cost, in US dollars, once the result has arrived."""
        if self._result is None:
            return None
        cost = self._result.get("total_cost_usd")
        return float(cost) if isinstance(cost, int | float) else None


def _finish_reason(message: Body) -> str | None:
    reason = message.get("stop_reason")
    if isinstance(reason, str):
        return reason
    subtype = message.get("subtype")
    return subtype if isinstance(subtype, str) else None
