"""The claude_code provider, run against a stand-in CLI the tests write to tmp_path.

The stand-in speaks the real CLI's ``-p --output-format stream-json --verbose`` protocol:
an init line with the session id, assistant messages, a result line with usage and cost.
It keeps each session's history in a directory, so ``--resume`` continues it (and, like
the CLI, reports a fresh session id for the continued conversation); an unknown session
fails the way the CLI does. ``FAKE_CLAUDE_MODE`` picks a failure to act out.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from callboard.calling import Calling
from callboard.endpoint import ClaudeCode, ClaudeCodeConfig
from callboard.errors import ConfigError
from callboard.imodel import iModel
from callboard.providers import (
    ClaudeCodeFailed,
    NormalizedResponse,
    PayloadError,
    StreamDelta,
    Usage,
)
from callboard.resilience import (
    AuthenticationError,
    InvalidResponse,
    NotFound,
    RateLimited,
    StreamInterrupted,
)

STAND_IN = r"""
import json, os, sys, time, uuid

args = sys.argv[1:]


def opt(name):
    return args[args.index(name) + 1] if name in args else None


def emit(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


if "-p" not in args or opt("--output-format") != "stream-json" or "--verbose" not in args:
    sys.stderr.write("Error: --output-format=stream-json requires --verbose\n")
    sys.exit(1)
prompt = sys.stdin.read()
state = os.environ["FAKE_CLAUDE_STATE"]
mode = os.environ.get("FAKE_CLAUDE_MODE", "ok")
model = opt("--model") or "claude-sonnet-4-5"
resume = opt("--resume")
history = []
if resume:
    try:
        with open(os.path.join(state, resume + ".json")) as f:
            history = json.load(f)
    except FileNotFoundError:
        sys.stderr.write(f"No conversation found with session ID: {resume}\n")
        sys.exit(1)
if mode == "fail":
    sys.stderr.write("Error: something broke inside the CLI\n")
    sys.exit(3)
session = str(uuid.uuid4())
history.append(prompt)
with open(os.path.join(state, session + ".json"), "w") as f:
    json.dump(history, f)
with open(os.path.join(state, "argv.json"), "w") as f:
    json.dump(args, f)
emit({"type": "system", "subtype": "init", "session_id": session, "model": model,
      "cwd": os.getcwd(), "tools": ["Bash", "Read"], "permissionMode": "default"})
if mode == "malformed":
    sys.stdout.write("this is not json\n")
    sys.stdout.flush()
    time.sleep(60)
if mode == "hang":
    emit({"type": "assistant", "session_id": session, "message": {
        "id": "msg_0", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": f"pid {os.getpid()}"}]}})
    time.sleep(600)
usage = {"input_tokens": 10 * len(history), "cache_creation_input_tokens": 0,
         "cache_read_input_tokens": 5, "output_tokens": 4}
if mode == "tool":
    emit({"type": "assistant", "session_id": session, "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": "Let me look. "},
                    {"type": "tool_use", "id": "toolu_1", "name": "Bash",
                     "input": {"command": "ls"}}], "usage": usage}})
    emit({"type": "user", "session_id": session, "message": {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"}]}})
answer = f"turn {len(history)}: {prompt}"
if "--include-partial-messages" in args:
    for word in answer.split(" "):
        emit({"type": "stream_event", "session_id": session, "event": {
            "type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": word + " "}}})
emit({"type": "assistant", "session_id": session, "message": {
    "id": "msg_2", "type": "message", "role": "assistant", "model": model,
    "content": [{"type": "text", "text": answer}], "usage": usage}})
if mode == "truncate":
    sys.exit(0)
result = {"type": "result", "subtype": "success", "is_error": False, "duration_ms": 12,
          "num_turns": len(history), "result": answer, "session_id": session,
          "total_cost_usd": 0.25, "usage": usage}
if mode == "max_turns":
    result.update(subtype="error_max_turns", is_error=True, result="")
if mode == "rate_limited":
    result.update(subtype="success", is_error=True,
                  result="API Error: 429 rate limit exceeded for sk-ant-api03-secretsecret")
if mode == "auth":
    result.update(is_error=True, result="Invalid API key · Please run /login")
emit(result)
sys.exit(1 if mode == "auth" else 0)
"""


@pytest.fixture
def cli(tmp_path: Path) -> Path:
    script = tmp_path / "claude"
    script.write_text(f"#!{sys.executable}\n{STAND_IN}")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "state").mkdir()
    return script


def config(cli: Path, mode: str = "ok", **kwargs: Any) -> ClaudeCodeConfig:
    env = {"FAKE_CLAUDE_STATE": str(cli.parent / "state"), "FAKE_CLAUDE_MODE": mode}
    return ClaudeCodeConfig(executable=str(cli), env=env, **kwargs)


def argv(cli: Path) -> list[str]:
    return json.loads((cli.parent / "state" / "argv.json").read_text())


async def test_a_call_returns_the_result_with_usage_model_and_session(cli: Path) -> None:
    backend = ClaudeCode(config(cli))
    calling = Calling({"prompt": "hello"})
    response = await backend.execute(calling)
    assert isinstance(response, NormalizedResponse)
    assert response.text == "turn 1: hello"
    assert response.provider == "claude_code"
    assert response.model == "claude-sonnet-4-5"
    assert response.finish_reason == "success"
    # cache reads are part of the prompt, as for the Anthropic API
    assert response.usage == Usage(prompt_tokens=15, completion_tokens=4, cached_tokens=5)
    assert calling.actual_tokens == 19
    assert isinstance(response.raw, tuple)
    assert [m["type"] for m in response.raw] == ["system", "assistant", "result"]  # pyright: ignore
    session = backend.session_id
    assert session is not None and (cli.parent / "state" / f"{session}.json").exists()
    assert backend.provider_metadata["total_cost_usd"] == pytest.approx(0.25)
    assert "--resume" not in argv(cli)


async def test_the_next_call_resumes_the_session_the_cli_reported(cli: Path) -> None:
    backend = ClaudeCode(config(cli))
    await backend.execute(Calling({"prompt": "remember 7"}))
    first = backend.session_id
    response = await backend.execute(Calling({"prompt": "what number?"}))
    assert argv(cli)[argv(cli).index("--resume") + 1] == first
    assert response.text == "turn 2: what number?"  # the CLI saw the earlier turn
    assert backend.session_id not in (None, first)  # the id the second run reported
    assert backend.provider_metadata["total_cost_usd"] == pytest.approx(0.5)
    third = await backend.execute(Calling({"prompt": "again"}))
    assert third.text == "turn 3: again"


async def test_payload_resume_false_starts_a_new_session(cli: Path) -> None:
    backend = ClaudeCode(config(cli))
    await backend.execute(Calling({"prompt": "one"}))
    response = await backend.execute(Calling({"prompt": "fresh", "resume": False}))
    assert response.text == "turn 1: fresh"
    assert "--resume" not in argv(cli)


async def test_an_unknown_session_fails_with_the_cli_message(cli: Path) -> None:
    backend = ClaudeCode(config(cli), provider_metadata={"session_id": "no-such-session"})
    with pytest.raises(ClaudeCodeFailed) as caught:
        await backend.execute(Calling({"prompt": "hi"}))
    assert caught.value.exit_code == 1
    assert "No conversation found with session ID: no-such-session" in str(caught.value)
    assert caught.value.provider == "claude_code"
    assert not caught.value.retryable
    assert backend.session_id == "no-such-session"  # a failed run does not move it


async def test_messages_payload_options_and_flags_reach_the_cli(cli: Path) -> None:
    backend = ClaudeCode(
        config(
            cli,
            model="sonnet",
            max_turns=2,
            permission_mode="plan",
            allowed_tools=["Read", "Grep"],
            append_system_prompt="Be brief.",
        )
    )
    payload = {
        "model": "opus",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "earlier question"},
            {"role": "assistant", "content": "earlier answer"},
            {"role": "user", "content": [{"type": "text", "text": "latest"}]},
        ],
    }
    response = await backend.execute(Calling(payload))
    assert response.text == "turn 1: latest"  # only the last user message is sent
    assert response.model == "opus"
    args = argv(cli)
    assert args[args.index("--model") + 1] == "opus"
    assert args[args.index("--max-turns") + 1] == "2"
    assert args[args.index("--permission-mode") + 1] == "plan"
    assert args[args.index("--allowedTools") + 1] == "Read,Grep"
    assert args[args.index("--append-system-prompt") + 1] == "Be brief.\n\nYou are terse."


async def test_streaming_sends_each_text_block_then_usage_and_finish(cli: Path) -> None:
    backend = ClaudeCode(config(cli, mode="tool"))
    send, receive = trio.open_memory_channel[StreamDelta](100)
    calling = Calling({"prompt": "list files"}, streaming=True, stream_sink=send)
    response = await backend.execute(calling)
    send.close()
    deltas = [delta async for delta in receive]
    assert [d.text for d in deltas if d.text] == ["Let me look. ", "turn 1: list files"]
    assert deltas[-2].usage == response.usage
    assert deltas[-1].finish_reason == "success"
    assert response.text == "turn 1: list files"  # the result is the last turn's answer
    assert response.tool_calls == ()  # the agent ran its tools itself


async def test_partial_messages_stream_token_deltas_without_repeating_text(cli: Path) -> None:
    backend = ClaudeCode(config(cli, partial_messages=True))
    send, receive = trio.open_memory_channel[StreamDelta](100)
    calling = Calling({"prompt": "a b"}, streaming=True, stream_sink=send)
    response = await backend.execute(calling)
    send.close()
    texts = [delta.text async for delta in receive if delta.text]
    assert texts == ["turn ", "1: ", "a ", "b "]
    assert "--include-partial-messages" in argv(cli)
    assert response.text == "turn 1: a b"


async def test_partial_messages_are_not_requested_without_streaming(cli: Path) -> None:
    await ClaudeCode(config(cli, partial_messages=True)).execute(Calling({"prompt": "x"}))
    assert "--include-partial-messages" not in argv(cli)


async def test_a_malformed_line_is_invalid_response_and_kills_the_process(cli: Path) -> None:
    backend = ClaudeCode(config(cli, mode="malformed"))  # it sleeps 60 s after the line
    calling = Calling({"prompt": "x"})
    with trio.fail_after(20):
        with pytest.raises(InvalidResponse, match="not JSON") as caught:
            await backend.execute(calling)
    assert caught.value.calling_id == calling.id


async def test_a_line_over_the_limit_is_invalid_response(cli: Path) -> None:
    backend = ClaudeCode(config(cli, max_line_bytes=1024))
    with pytest.raises(InvalidResponse, match="max_line_bytes=1024"):
        await backend.execute(Calling({"prompt": "y" * 2000}))


async def test_a_non_zero_exit_without_result_carries_stderr(cli: Path) -> None:
    with pytest.raises(ClaudeCodeFailed, match=r"status 3.*something broke") as caught:
        await ClaudeCode(config(cli, mode="fail")).execute(Calling({"prompt": "x"}))
    assert caught.value.exit_code == 3


async def test_output_without_a_result_line_is_interrupted_with_the_partial_text(
    cli: Path,
) -> None:
    with pytest.raises(StreamInterrupted) as caught:
        await ClaudeCode(config(cli, mode="truncate")).execute(Calling({"prompt": "x"}))
    assert caught.value.partial_text == "turn 1: x"


async def test_an_error_result_is_typed_by_what_it_says_and_masks_keys(cli: Path) -> None:
    with pytest.raises(RateLimited) as limited:
        await ClaudeCode(config(cli, mode="rate_limited")).execute(Calling({"prompt": "x"}))
    assert "sk-ant" not in str(limited.value)
    with pytest.raises(AuthenticationError, match="/login"):
        await ClaudeCode(config(cli, mode="auth")).execute(Calling({"prompt": "x"}))
    backend = ClaudeCode(config(cli, mode="max_turns"))
    with pytest.raises(ClaudeCodeFailed) as turns:
        await backend.execute(Calling({"prompt": "x"}))
    assert turns.value.subtype == "error_max_turns"
    assert backend.session_id is not None  # the run finished: its session can go on


async def test_a_missing_executable_is_not_found(tmp_path: Path) -> None:
    backend = ClaudeCode(ClaudeCodeConfig(executable=str(tmp_path / "no-claude-here")))
    calling = Calling({"prompt": "x"})
    with pytest.raises(NotFound, match="was not found") as caught:
        await backend.execute(calling)
    assert caught.value.calling_id == calling.id
    assert caught.value.provider == "claude_code"


async def test_a_non_executable_file_cannot_be_started(tmp_path: Path) -> None:
    plain = tmp_path / "claude"
    plain.write_text("not a program")
    with pytest.raises(ClaudeCodeFailed, match="could not be started"):
        await ClaudeCode(ClaudeCodeConfig(executable=str(plain))).execute(Calling({"prompt": "x"}))


async def test_cancelling_a_call_kills_the_process(cli: Path) -> None:
    backend = ClaudeCode(config(cli, mode="hang"))  # it would sleep for 600 s
    send, receive = trio.open_memory_channel[StreamDelta](10)
    calling = Calling({"prompt": "x"}, streaming=True, stream_sink=send)
    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(backend.execute, calling)
            first = await receive.receive()
            pid = int(first.text.removeprefix("pid "))
            os.kill(pid, 0)  # it is running
            nursery.cancel_scope.cancel()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped before execute returned


async def test_a_payload_without_prompt_is_refused_before_running(cli: Path) -> None:
    with pytest.raises(PayloadError, match="prompt"):
        await ClaudeCode(config(cli)).execute(Calling({"messages": [{"role": "system"}]}))
    assert not (cli.parent / "state" / "argv.json").exists()


def test_config_lists_every_bad_field() -> None:
    with pytest.raises(ConfigError) as caught:
        ClaudeCodeConfig(executable="", max_turns=0)
    assert "executable" in str(caught.value) and "max_turns" in str(caught.value)
    assert caught.value.field is None
    with pytest.raises(ConfigError) as single:
        ClaudeCodeConfig(max_line_bytes=10)
    assert single.value.field == "max_line_bytes"


def test_env_stays_out_of_repr() -> None:
    settings = ClaudeCodeConfig(env={"ANTHROPIC_API_KEY": "sk-ant-secret-value"})
    assert "sk-ant" not in repr(settings)
    assert "sk-ant" not in repr(ClaudeCode(settings))


async def test_an_imodel_streams_and_continues_the_session(cli: Path) -> None:
    backend = ClaudeCode(config(cli))
    model = iModel(backend=backend)
    assert model.name == "claude_code"
    async with model:
        first = await model.invoke(prompt="hi")
        chunks = [chunk async for chunk in model.invoke_stream(prompt="again")]
    assert first.response.text == "turn 1: hi"
    assert chunks == ["turn 2: again"]
