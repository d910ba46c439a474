"""``callboard call``: a reply and its usage from a fake provider the test starts, and
one-line errors."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

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
    # gpt-4o-mini lists $0.15 per million prompt tokens, $0.60 per million completion ones.
    assert captured.err == (
        "usage: 10 prompt + 4 completion = 14 tokens; "
        "cost $0.0000039 at the list price of gpt-4o-mini\n"
    )


def test_an_unpriced_model_says_so(server_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["call", "hi", "--provider", "openai", "--base-url", f"{server_url}/v1"]
    assert main([*argv, "--model", "fake-model"]) == 0
    err = capsys.readouterr().err
    assert err.endswith("; cost unknown: no price for 'fake-model' in callboard.PRICES\n")


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
    assert captured.err.startswith("usage: 10 prompt + 4 completion = 14 tokens; cost $0.0000039")


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
        (
            ["call", "hi", "--provider", "openai", "--timeout", "-1"],
            "argument --timeout: expected a number of seconds > 0, got '-1'",
        ),
        (["call", "hi", "--provider", "openai", "--timeout", "0"], "argument --timeout:"),
        (["call", "hi", "--provider", "openai", "--timeout", "nan"], "argument --timeout:"),
        (
            ["call", "hi", "--provider", "openai", "--retries", "-1"],
            "argument --retries: expected a whole number >= 0, got '-1'",
        ),
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


def test_prices_file_prices_an_unlisted_model(
    server_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from callboard import PRICES

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"fake-model": {"input": 1000.0, "output": 2000.0}}))
    argv = ["call", "hello there", "--provider", "openai", "--base-url", f"{server_url}/v1"]
    assert main([*argv, "--model", "fake-model", "--prices", str(prices)]) == 0
    # 10 prompt tokens at $1,000 per million and 4 completion tokens at $2,000 per million
    assert capsys.readouterr().err.endswith("; cost $0.0180 at the list price of fake-model\n")
    assert "fake-model" not in PRICES  # registered for the command only


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("[1, 2]", "expected an object of model name -> prices"),
        ("{", "not JSON"),
        ('{"m": {"input": 1}}', "'m' needs both input and output"),
        ('{"m": {"input": 1, "output": -2}}', "output must be a finite price >= 0"),
        ('{"m": {"input": 1, "output": 2, "cached": 1}}', "unknown field(s) cached"),
        ('{"m": 3}', "must be an object like"),
    ],
)
def test_a_bad_prices_file_is_one_line(
    content: str, needle: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(content)
    assert main(["call", "hi", "--provider", "openai", "--prices", str(prices)]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1
