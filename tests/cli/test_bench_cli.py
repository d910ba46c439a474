"""``callboard bench``: the JSON report's numbers against the fake provider's own counters,
one-line errors, and Ctrl-C still reporting what finished."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from typing import Any

import pytest

from callboard.cli import main


def bench(capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, dict[str, Any]]:
    code = main(["bench", "--json", *flags])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, json.loads(captured.out)


def test_every_calling_finishes_and_is_counted(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = bench(capsys, "-n", "60", "-c", "8", "--models", "3", "--tpm", "10000000")
    assert code == 0
    assert report["requested"] == 60
    assert report["completed"] == 60
    assert report["failed"] == report["cancelled"] == 0
    assert report["models"] == 3 and report["interrupted"] is False
    server = report["server"]
    assert server["received"] == server["succeeded"] == 60  # nothing lost, nothing extra
    assert report["rate_limited_429"] == server["rate_limited"] == 0
    # The usage the models reconciled is exactly what the provider charged net.
    assert report["tokens_used"] == server["tokens_charged"] - server["tokens_refunded"]
    assert report["tokens_used"] > 0
    latency, wait = report["latency_ms"], report["queue_wait_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert 0 <= wait["p50"] <= wait["p99"] <= latency["p99"]
    assert report["throughput_per_s"] == pytest.approx(60 / report["elapsed_s"], rel=0.01)
    assert report["events_missed"] == 0
    assert report["first_chunk_ms"] is None


def test_429s_without_client_limits_match_the_provider(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 1,200 a minute enforced over 0.1 s: a bucket of 2, so the first 8 callers at once
    # get 429s however slow the machine (a minute's burst of 300 against 320 calls
    # got none when the calls took longer than the bucket's refill of the other 20).
    code, report = bench(
        capsys,
        *("-n", "40", "-c", "8", "--rpm", "1200", "--window", "0.1"),
        *("--no-client-limits", "--retries", "0"),
    )
    assert code == 0
    server = report["server"]
    # 429s, whose retry-after pauses the models' admission. A 429 is not the call's
    # failure: even without retries every call completes, each refused one after
    # waiting its turn again.
    assert server["rate_limited"] >= 1
    assert report["rate_limited_429"] == server["rate_limited"]
    assert report["failed"] == 0
    assert report["completed"] == server["succeeded"] == 40
    assert report["retries"] == 0


def test_client_limits_avoid_429s_and_use_the_limit(capsys: pytest.CaptureFixture[str]) -> None:
    # 120 rpm: a burst of 120, then 2 a second; the last 4 calls wait about 2 s.
    code, report = bench(capsys, "-n", "124", "-c", "16", "--rpm", "120")
    assert code == 0
    assert report["completed"] == 124
    assert report["rate_limited_429"] == report["server"]["rate_limited"] == 0
    assert report["elapsed_s"] >= 1.5  # the models waited for the bucket to refill
    share = report["requests_share"]
    assert share["limit_per_minute"] == 120 and share["used"] == 124
    assert share["share"] >= 0.97
    assert report["tokens_share"] is None


def test_retries_account_for_every_fault(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = bench(capsys, "-n", "40", "-c", "8", "--fault-rate", "0.3", "--retries", "5")
    assert code == 0
    server = report["server"]
    assert server["faulted"] > 0
    # Every faulted request (a 503) was either retried or was the call's last attempt.
    # Five 503s in a row open the circuit, and the calls it then refuses fail with
    # CircuitOpen without sending anything: they are no fault of the server's.
    faults = report["retried_after"].get("ServerError", 0)
    assert server["faulted"] == faults + report["failed_by"].get("ServerError", 0)
    assert set(report["failed_by"]) <= {"ServerError", "CircuitOpen"}
    assert report["retries"] == sum(report["retried_after"].values())
    assert report["completed"] + report["failed"] == 40
    assert report["rate_limited_429"] == 0


def test_stream_reports_time_to_first_chunk(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = bench(capsys, "-n", "20", "-c", "4", "--stream", "--latency", "0.005")
    assert code == 0
    assert report["stream"] is True and report["completed"] == 20
    first, latency = report["first_chunk_ms"], report["latency_ms"]
    assert 5 <= first["p50"] <= latency["p50"]
    assert first["p99"] <= latency["p99"]
    assert report["tokens_used"] > 0  # streams reconcile from their final usage


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "-n", "10", "-c", "2", "--models", "1", "--rpm", "600"]) == 0
    out = capsys.readouterr().out
    for figure in (
        "throughput",
        "latency p50 / p95 / p99",
        "queue wait p50 / p99",
        "429s received",
        "retries",
        "tokens used",
        "share of request limit",
    ):
        assert figure in out
    assert "10 completed, 0 failed of 10" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["bench", "-n", "0"], "expected a whole number >= 1, got '0'"),
        (["bench", "--fault-rate", "2"], "expected a number from 0 to 1"),
        (["bench", "--latency", "-1"], "seconds >= 0"),
        (["bench", "--retries", "-1"], "argument --retries: expected a whole number >= 0"),
        (["bench", "--base-url", "http://127.0.0.1:9/v1"], "--base-url needs --provider"),
        (["bench", "--provider", "nope"], "unknown provider 'nope'; known providers:"),
        (["bench", "--provider", "openai"], "needs an API key: set OPENAI_API_KEY"),
        (["bench", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_errors_are_one_line(
    argv: list[str],
    needle: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    captured = capsys.readouterr()
    assert needle in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert captured.out == ""


def test_unreachable_provider_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-unreachable")
    code = main(
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
    assert report["completed"] == 0 and report["failed"] == 3
    lines = captured.err.splitlines()
    assert lines[-1].startswith(
        "callboard bench: error: no call succeeded: "
        "ConnectionFailed: the connection to openai failed"
    )
    assert report["failed_by"] == {"ConnectionFailed": 3}
    assert "sk-test" not in captured.err + captured.out
    assert "Traceback" not in captured.err


def test_a_dead_url_shows_the_error_that_opened_the_circuit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 20 calls with retries: connection failures open the Endpoints' circuits once
    # minimum_calls (20) attempts ended, half of them failed, and the calls that come
    # later fail fast with CircuitOpen. The user must still be told
    # that the connection failed, which is what there is to fix.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-dead")
    argv = ["--provider", "openai", "--base-url", f"http://127.0.0.1:{_free_port()}/v1"]
    code = main(["bench", *argv, "-n", "20", "-c", "8", "--models", "1"])
    captured = capsys.readouterr()
    assert code == 1
    last = captured.err.splitlines()[-1]
    assert last.startswith(
        "callboard bench: error: no call succeeded: "
        "ConnectionFailed: the connection to openai failed"
    )
    assert "the circuit of openai:chat opened after 20 failures in a row" in last
    table = captured.out
    assert "CircuitOpen" in table and "ConnectionFailed" in table  # the kinds, counted
    for row in ("failed with", "retried after", "first error", "circuit opened"):
        assert row in table
    code, report = bench(capsys, *argv, "-n", "20", "-c", "8", "--models", "1")
    assert sum(report["failed_by"].values()) == report["failed"] == 20
    assert report["failed_by"]["CircuitOpen"] > 0
    assert report["retried_after"]["ConnectionFailed"] >= 4
    (circuit,) = report["circuits_opened"][:1]
    assert circuit["failures"] == 20
    assert circuit["cause"].startswith("ConnectionFailed: the connection to openai failed")
    assert "sk-test" not in captured.err + captured.out


def _free_port() -> int:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_missing_rich_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)  # makes ``import rich`` fail
    assert main(["bench", "-n", "1"]) == 1
    err = capsys.readouterr().err
    assert "needs rich: pip install 'callboard[cli]'" in err and err.count("\n") == 1


def test_ctrl_c_stops_and_still_reports() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "callboard.cli",
            "bench",
            "--json",
            "-n",
            "1000000",
            "--latency",
            "0.01",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        started = process.stderr.readline()
        assert started.startswith("callboard bench: 1,000,000 callings on 4 models")
        # The calls are running once the models are up; let some finish first.
        import time

        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130
    assert "Traceback" not in err
    report = json.loads(out)
    assert report["interrupted"] is True
    assert 0 < report["completed"] < 1_000_000
    # Whatever was in flight was cancelled, not lost: every started call is accounted for.
    assert report["server"]["succeeded"] >= report["completed"]
    assert report["completed"] + report["failed"] + report["cancelled"] <= 1_000_000


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_bench_against_a_provider_by_url(
    provider: str,
    server_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(f"{provider.upper()}_API_KEY", "k-call")
    code, report = bench(
        capsys,
        "--provider",
        provider,
        "--base-url",
        f"{server_url}/v1",
        "-n",
        "30",
        "-c",
        "6",
        "--rpm",
        "6000",
    )
    assert code == 0
    assert report["provider"] == provider and report["server"] is None
    assert report["model"] == ("claude-haiku-4-5" if provider == "anthropic" else "gpt-4o-mini")
    assert report["completed"] == 30 and report["failed"] == 0
    assert report["tokens_used"] > 0
    assert report["requests_share"]["used"] == 30
