"""``callboard call``: a reply and its usage from a fake provider the test starts, and
one-line errors."""

from __future__ import annotations

import re
import socket

import pytest

from callboard.cli import main


@pytest.fixture(autouse=True)
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "k-call")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k-call")


REPLY = re.compile(r"echo [0-9a-f]{8}: hello there\n")


def test_call_prints_reply_and_usage(server_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["call", "hello there", "--provider", "openai", "--base-url", f"{server_url}/v1"])
    captured = capsys.readouterr()
    assert code == 0
    assert REPLY.fullmatch(captured.out)
    # "echo", "<digest>:", "hello", "there" = 4 completion tokens; prompt 3 + 4 + 3.
    assert captured.err == "usage: 10 prompt + 4 completion = 14 tokens\n"


def test_call_streams(server_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "call",
            "hello there",
            "--provider",
            "openai",
            "--base-url",
            f"{server_url}/v1",
            "--stream",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert REPLY.fullmatch(captured.out)
    assert captured.err == "usage: 10 prompt + 4 completion = 14 tokens\n"


def test_call_anthropic_with_system_and_max_tokens(
    server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "call",
            "hello there",
            "--provider",
            "anthropic",
            "--base-url",
            f"{server_url}/v1",
            "--system",
            "be brief",
            "--max-tokens",
            "2",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert re.fullmatch(r"echo [0-9a-f]{8}:\n", captured.out)  # cut to max_tokens words
    assert captured.err.startswith("usage: ") and "2 completion" in captured.err


def test_wrong_key_is_one_line(
    server_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-123456")
    code = main(["call", "hi", "--provider", "openai", "--base-url", f"{server_url}/v1"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("callboard call: error: ")
    assert "401" in captured.err or "uthentication" in captured.err
    assert captured.err.count("\n") == 1
    assert "sk-wrong-key" not in captured.err and "Traceback" not in captured.err


def test_unreachable_server_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(
        [
            "call",
            "hi",
            "--provider",
            "openai",
            "--base-url",
            f"http://127.0.0.1:{port}/v1",
            "--retries",
            "0",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("callboard call: error: the connection to openai failed")
    assert captured.err.count("\n") == 1 and captured.out == ""


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["call", "hi", "--provider", "nope"], "unknown provider 'nope'"),
        (["call", "hi"], "the following arguments are required: --provider"),
        (["call", "hi", "--provider", "openai", "--base-url", "ftp://x"], "must start with http"),
        (["call", "hi", "--provider", "openai", "--max-tokens", "0"], "whole number >= 1"),
        (["call", "hi", "--provider", "groq"], "needs an API key: set GROQ_API_KEY"),
    ],
)
def test_bad_input_is_one_line(
    argv: list[str],
    needle: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err
