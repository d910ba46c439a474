"""Bad command lines: one line on stderr naming the problem and the fix, the right exit
status (2 for a usage mistake, 1 for a failure at run time), no traceback, no key.

The command line turns its typed errors (``CliError``, argparse's usage errors, the
library's ``ConfigError``s and provider errors) into that one line; these rows hold it
to the line a user reads."""

from __future__ import annotations

import json
import socket

import pytest

from callboard.cli import main

from .catalogue import CANARY


def _free_port() -> int:
    with socket.socket() as probe:  # bound, never listening: connections are refused
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse's usage errors exit
        return int(exit_.code or 0)


USAGE: list[tuple[list[str], str, tuple[str, ...]]] = [
    (
        ["bench", "--callings", "-1"],
        "callboard bench",
        ("argument --callings/-n", "expected a whole number >= 1, got '-1'"),
    ),
    (
        ["bench", "--concurrency", "0"],
        "callboard bench",
        ("argument --concurrency/-c", "expected a whole number >= 1"),
    ),
    (
        ["bench", "--retries", "-1"],
        "callboard bench",
        ("argument --retries", "expected a whole number >= 0, got '-1'"),
    ),
    (
        ["bench", "--fault-rate", "2"],
        "callboard bench",
        ("argument --fault-rate", "expected a number from 0 to 1"),
    ),
    (
        ["bench", "--provider", "opneai"],
        "callboard bench",
        ("unknown provider 'opneai'", "known providers:", "openai_compatible"),
    ),
    (
        ["bench", "--provider", "openai"],
        "callboard bench",
        ("provider 'openai' needs an API key: set OPENAI_API_KEY",),
    ),
    (
        ["call", "hi", "--provider", "groq"],
        "callboard call",
        ("provider 'groq' needs an API key: set GROQ_API_KEY",),
    ),
    (
        ["call", "hi", "--provider", "openai", "--base-url", "ftp://x"],
        "callboard call",
        ("must start with http",),
    ),
    (["call", "hi"], "callboard call", ("the following arguments are required: --provider",)),
    (
        ["fake-provider", "--port", "99999"],
        "callboard fake-provider",
        ("port must be in 0..65535, got 99999",),
    ),
]


@pytest.mark.parametrize(
    ("argv", "prefix", "phrases"), USAGE, ids=[" ".join(argv) for argv, _, _ in USAGE]
)
def test_usage_mistake_is_one_line_with_status_2(
    argv: list[str],
    prefix: str,
    phrases: tuple[str, ...],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("GROQ_API_KEY", raising=False)
    code = _run(argv)
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith(f"{prefix}: error: ")
    for phrase in phrases:
        assert phrase in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.out == ""


def test_bench_against_an_unreachable_server(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    port = _free_port()
    code = _run(
        [
            "bench",
            "--json",
            "--provider",
            "openai",
            "--base-url",
            f"http://127.0.0.1:{port}/v1",
            "-n",
            "3",
            "--retries",
            "0",
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    report = json.loads(captured.out)
    assert (report["completed"], report["failed"]) == (0, 3)  # every call accounted for
    last = captured.err.splitlines()[-1]
    assert last.startswith("callboard bench: error: no call succeeded: ")
    assert "the connection to openai failed" in last and "check base_url" in last
    assert CANARY not in captured.err + captured.out and "Traceback" not in captured.err


def test_call_against_an_unreachable_server(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    port = _free_port()
    code = _run(
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
    assert f"127.0.0.1:{port}" in captured.err and "check base_url" in captured.err
    assert captured.err.count("\n") == 1 and captured.out == ""
    assert CANARY not in captured.err
