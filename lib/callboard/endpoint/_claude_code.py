"""The ``claude_code`` provider: the Claude Code CLI as a subprocess, one run per call.

Claude Code is an agent, not an HTTP API: each call runs ``claude -p`` with
``--output-format stream-json``, sends the prompt on stdin and reads one JSON message per
output line. The CLI keeps the conversation itself, under a session id; the backend keeps
the last one in ``provider_metadata["session_id"]`` and passes ``--resume`` on the next
call, so consecutive calls continue one conversation.
"""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, cast

import attrs
import trio

from callboard.calling import Calling
from callboard.errors import ConfigError
from callboard.providers import NormalizedResponse, PayloadError, StreamDelta
from callboard.providers._claude_code_decoder import PROVIDER, ClaudeCodeDecoder, ClaudeCodeFailed
from callboard.resilience import InvalidResponse, NotFound, ProviderError

__all__ = ["ClaudeCode", "ClaudeCodeConfig"]

_STDERR_TAIL = 4096


def _frozen_env(value: Mapping[str, str] | None) -> Mapping[str, str] | None:
    return None if value is None else MappingProxyType(dict(value))


@attrs.frozen
class ClaudeCodeConfig:
    """How to run the Claude Code CLI.

    Attributes:
        executable: the ``claude`` program (a name on ``PATH`` or a path).
        model: ``--model`` for every call (a payload's ``model`` wins).
        cwd: the directory the agent works in; ``None`` for the current one.
        system_prompt: ``--system-prompt``, replacing Claude Code's own.
        append_system_prompt: ``--append-system-prompt``, added to Claude Code's own.
        max_turns: ``--max-turns``, a bound on agent turns per call.
        permission_mode: ``--permission-mode`` (``"plan"``, ``"acceptEdits"``, ...).
        allowed_tools: ``--allowedTools``.
        disallowed_tools: ``--disallowedTools``.
        partial_messages: when streaming, ask for ``--include-partial-messages`` so text
            arrives token by token rather than a whole block at a time.
        extra_args: further arguments, passed as they are.
        env: variables added to the inherited environment (left out of repr: it may
            hold a key).
        max_line_bytes: the longest output line accepted (tool results can be big).

    Raises:
        ConfigError: a field is invalid; the message lists every bad field.

    Example:
        >>> ClaudeCodeConfig(model="sonnet", max_turns=3).command(resume="abc")[:2]
        ('claude', '-p')
    """

    executable: str = "claude"
    model: str | None = None
    cwd: str | None = None
    system_prompt: str | None = None
    append_system_prompt: str | None = None
    max_turns: int | None = None
    permission_mode: str | None = None
    allowed_tools: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    disallowed_tools: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    partial_messages: bool = False
    extra_args: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    env: Mapping[str, str] | None = attrs.field(default=None, converter=_frozen_env, repr=False)
    max_line_bytes: int = 32 * 1024 * 1024

    def __attrs_post_init__(self) -> None:
        problems: list[tuple[str, str]] = []
        if not isinstance(self.executable, str) or not self.executable:  # pyright: ignore[reportUnnecessaryIsInstance]
            problems.append(("executable", "must be a non-empty program name or path"))
        if self.max_turns is not None and (
            isinstance(self.max_turns, bool) or not self.max_turns >= 1
        ):
            problems.append(("max_turns", f"must be an int >= 1 or None, got {self.max_turns!r}"))
        if not self.max_line_bytes >= 1024:
            problems.append(("max_line_bytes", f"must be >= 1024, got {self.max_line_bytes!r}"))
        for name in ("allowed_tools", "disallowed_tools", "extra_args"):
            values: tuple[object, ...] = getattr(self, name)
            if not all(isinstance(value, str) for value in values):
                problems.append((name, "must be strings"))
        if problems:
            listed = "; ".join(f"{field} {why}" for field, why in problems)
            raise ConfigError(
                f"invalid ClaudeCodeConfig: {listed}",
                field=problems[0][0] if len(problems) == 1 else None,
            )

    def command(
        self,
        *,
        model: str | None = None,
        resume: str | None = None,
        append_system_prompt: str | None = None,
        streaming: bool = False,
    ) -> tuple[str, ...]:
        """The argv of one run (the prompt goes on stdin, not here).

        Args:
            model: overrides ``model``.
            resume: the session id to continue.
            append_system_prompt: added to ``append_system_prompt``.
            streaming: whether the caller streams (enables partial messages).
        """
        args = [self.executable, "-p", "--output-format", "stream-json", "--verbose"]
        if model or self.model:
            args += ["--model", cast(str, model or self.model)]
        if resume:
            args += ["--resume", resume]
        if self.system_prompt is not None:
            args += ["--system-prompt", self.system_prompt]
        appended = "\n\n".join(p for p in (self.append_system_prompt, append_system_prompt) if p)
        if appended:
            args += ["--append-system-prompt", appended]
        if self.max_turns is not None:
            args += ["--max-turns", str(self.max_turns)]
        if self.permission_mode is not None:
            args += ["--permission-mode", self.permission_mode]
        if self.allowed_tools:
            args += ["--allowedTools", ",".join(self.allowed_tools)]
        if self.disallowed_tools:
            args += ["--disallowedTools", ",".join(self.disallowed_tools)]
        if streaming and self.partial_messages:
            args.append("--include-partial-messages")
        args += self.extra_args
        return tuple(args)


@attrs.frozen
class _Request:
    prompt: str
    model: str | None
    system: str | None
    resume: str | None


class ClaudeCode:
    """A Backend that runs the Claude Code CLI once per call and continues its session.

    The payload is ``{"prompt": "..."}`` or chat ``{"messages": [...]}`` (the last user
    message is the prompt, since the CLI holds the earlier turns itself; ``system``
    messages are appended to the system prompt). Optional payload fields: ``model``,
    ``system`` (appended to the system prompt) and ``resume``, a session id to continue
    instead of the stored one, or ``False`` to start a new session.

    After every run that reached its ``result`` line, ``provider_metadata["session_id"]``
    holds the session to resume and ``provider_metadata["total_cost_usd"]`` the summed
    cost the CLI reported. Concurrent calls on one backend each resume the same stored
    session; the last to finish decides which session the next call continues.

    A streaming Calling gets each assistant text block (or token deltas, with
    ``partial_messages``) on its ``stream_sink``, then usage and the finish reason. The
    final response's ``text`` is the CLI's ``result`` (the last turn's answer); ``raw``
    holds every message the CLI printed. Tool calls Claude Code made are in ``raw``, not
    in ``tool_calls``: the agent ran them already, there is nothing for the caller to run.

    Cancelling a call kills the process at once (SIGKILL) and waits for it to exit; what
    the agent did before that (edited files, ran commands) stays done.

    Args:
        config: how to run the CLI; ``None`` for the defaults.
        provider_metadata: the starting state, e.g. ``{"session_id": ...}`` to continue
            an earlier session; the dict is used (and updated) in place.

    Example::

        backend = ClaudeCode(ClaudeCodeConfig(max_turns=2))
        first = await backend.execute(Calling({"prompt": "remember 7"}))
        again = await backend.execute(Calling({"prompt": "what number?"}))  # resumes
    """

    name = PROVIDER

    def __init__(
        self,
        config: ClaudeCodeConfig | None = None,
        *,
        provider_metadata: dict[str, Any] | None = None,
    ) -> None:
        self.config = config if config is not None else ClaudeCodeConfig()
        self.provider_metadata: dict[str, Any] = (
            provider_metadata if provider_metadata is not None else {}
        )

    def __repr__(self) -> str:
        session = self.provider_metadata.get("session_id")
        return f"<ClaudeCode {self.config.executable!r} session={session!r}>"

    @property
    def session_id(self) -> str | None:
        """The session the next call resumes, or ``None`` for a new one."""
        session = self.provider_metadata.get("session_id")
        return session if isinstance(session, str) and session else None

    async def execute(self, calling: Calling) -> NormalizedResponse:
        """Run the CLI for ``calling`` and return its normalized answer.

        Raises:
            PayloadError: the payload has no prompt.
            NotFound: the executable does not exist.
            InvalidResponse: the CLI printed something that is not stream-json.
            StreamInterrupted: the output ended without a result (partial text kept).
            ProviderError: the CLI failed (``ClaudeCodeFailed``, or a better type
                such as ``RateLimited`` when its message says so).
        """
        request = _request(calling.payload, self.session_id)
        command = self.config.command(
            model=request.model,
            resume=request.resume,
            append_system_prompt=request.system,
            streaming=calling.streaming,
        )
        decoder = ClaudeCodeDecoder(calling_id=calling.id)
        sink = calling.stream_sink if calling.streaming else None
        run = _Run(self.config, decoder, sink, calling_id=calling.id)
        exit_code = await run.run(command, request.prompt.encode())
        if decoder.done and decoder.session_id:
            self.provider_metadata["session_id"] = decoder.session_id
        cost = decoder.cost_usd
        if cost is not None:
            total = self.provider_metadata.get("total_cost_usd", 0.0)
            self.provider_metadata["total_cost_usd"] = float(total) + cost
        response = decoder.result(exit_code=exit_code, stderr=run.stderr_text)
        if response.usage is not None:
            calling.actual_tokens = response.usage.total_tokens
        return response


class _Run:
    """One CLI process: feeds stdout lines to the decoder, keeps the tail of stderr."""

    def __init__(
        self,
        config: ClaudeCodeConfig,
        decoder: ClaudeCodeDecoder,
        sink: trio.MemorySendChannel[StreamDelta] | None,
        *,
        calling_id: str | None = None,
    ) -> None:
        self._calling_id = calling_id
        self._config = config
        self._decoder = decoder
        self._sink = sink
        self._stderr = bytearray()

    @property
    def stderr_text(self) -> str:
        return self._stderr.decode("utf-8", "replace")

    async def run(self, command: Sequence[str], prompt: bytes) -> int:
        """Run to the end; the exit status. A decoding error kills the process first."""
        config = self._config
        env = {**os.environ, **config.env} if config.env is not None else None
        start = functools.partial(
            trio.run_process,
            command,
            stdin=prompt,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            check=False,
            deliver_cancel=_kill,
            cwd=config.cwd,
            env=env,
        )
        failure: ProviderError | None = None
        process: trio.Process | None = None
        async with trio.open_nursery() as nursery:
            try:
                process = cast(trio.Process, await nursery.start(start))
            except OSError as error:
                failure = _not_runnable(config.executable, error, self._calling_id)
            else:
                assert process.stdout is not None and process.stderr is not None
                nursery.start_soon(self._drain_stderr, process.stderr)
                try:
                    await self._read(process.stdout)
                except ProviderError as error:
                    failure = error
                    nursery.cancel_scope.cancel()  # kills the process
        if failure is not None:
            raise failure
        assert process is not None and process.returncode is not None
        return process.returncode

    async def _read(self, stdout: trio.abc.ReceiveStream) -> None:
        limit = self._config.max_line_bytes
        buffer = bytearray()
        while True:
            chunk = await stdout.receive_some()
            if not chunk:
                break
            buffer += chunk
            start = 0
            while (end := buffer.find(b"\n", start)) >= 0:
                if end - start > limit:
                    break
                await self._line(bytes(buffer[start:end]))
                start = end + 1
            del buffer[:start]
            if len(buffer) > limit:  # a line over the limit, complete or not
                raise InvalidResponse(
                    f"the Claude Code CLI printed a line longer than max_line_bytes={limit}; "
                    "raise ClaudeCodeConfig.max_line_bytes",
                    provider=PROVIDER,
                    calling_id=self._calling_id,
                )
        if buffer.strip():
            await self._line(bytes(buffer))

    async def _line(self, line: bytes) -> None:
        for delta in self._decoder.feed(line):
            if self._sink is None:
                continue
            try:
                await self._sink.send(delta)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._sink = None  # the reader left; the run still finishes

    async def _drain_stderr(self, stderr: trio.abc.ReceiveStream) -> None:
        while chunk := await stderr.receive_some():
            self._stderr += chunk
            del self._stderr[:-_STDERR_TAIL]


async def _kill(process: trio.Process) -> None:
    process.kill()


def _not_runnable(executable: str, error: OSError, calling_id: str | None) -> ProviderError:
    if isinstance(error, FileNotFoundError):
        return NotFound(
            f"the Claude Code CLI {executable!r} was not found; install Claude Code or set "
            "ClaudeCodeConfig(executable=...) to its path",
            provider=PROVIDER,
            calling_id=calling_id,
        )
    return ClaudeCodeFailed(
        f"the Claude Code CLI {executable!r} could not be started "
        f"({type(error).__name__}: {error.strerror or error}); check that it is executable",
        calling_id=calling_id,
    )


def _request(payload: Mapping[str, Any], stored_session: str | None) -> _Request:
    prompt = payload.get("prompt")
    system: list[str] = []
    if not isinstance(prompt, str):
        prompt = None
        messages = payload.get("messages")
        if isinstance(messages, list):
            for message in cast(list[object], messages):
                if not isinstance(message, Mapping):
                    continue
                fields = cast(Mapping[str, object], message)
                text = _text_of(fields.get("content"))
                if fields.get("role") == "system":
                    system.append(text)
                elif fields.get("role") == "user":
                    prompt = text
    if not prompt:
        raise PayloadError(
            "a claude_code call needs a non-empty 'prompt' string or 'messages' with a user message"
        )
    extra = payload.get("system")
    if isinstance(extra, str) and extra:
        system.insert(0, extra)
    model = payload.get("model")
    resume = payload.get("resume", stored_session)
    return _Request(
        prompt=prompt,
        model=model if isinstance(model, str) and model else None,
        system="\n\n".join(system) or None,
        resume=resume if isinstance(resume, str) and resume else None,
    )


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for block in cast(list[object], content):
            if isinstance(block, Mapping):
                text = cast(Mapping[str, object], block).get("text")
                if isinstance(text, str):
                    parts.append(text)
        return "".join(parts)
    return ""
