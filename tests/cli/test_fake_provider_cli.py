"""``callboard fake-provider``: serves until Ctrl-C, one clear line on bad flags."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx2
import pytest

from callboard.cli import main


def test_serves_until_ctrl_c() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "callboard.cli",
            "fake-provider",
            "--port",
            "0",
            "--rpm",
            "5",
            "--key",
            "k1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("fake provider listening on http://127.0.0.1:")
        url = line.split()[4]
        response = httpx2.post(
            f"{url}/v1/chat/completions",
            headers={"authorization": "Bearer k1"},
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": "cli"}]},
        )
        assert response.status_code == 200
        assert response.json()["choices"][0]["message"]["content"].endswith(": cli")
        assert response.headers["x-ratelimit-limit-requests"] == "5"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    # It counts a reply as succeeded once it was sent: an interrupt may come first.
    stopped, faults = out.strip().splitlines()
    assert re.fullmatch(
        r"fake provider stopped: received=1 succeeded=[01] rate_limited=0 faulted=0 rejected=0",
        stopped,
    )
    assert faults == "fake provider faults: {}"
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["fake-provider", "--rpm", "0"], "rpm must be None or an int >= 1"),
        (["fake-provider", "--rpm", "many"], "invalid int value"),
        (["fake-provider", "--fault", "200=0.5"], "unknown fault '200'"),
        (["fake-provider", "--fault", "529=2"], "RATE in [0, 1]"),
        (["fake-provider", "--latency", "-1"], "seconds >= 0"),
        (["fake-provider", "--port", "70000"], "port must be in 0..65535"),
        (["fake-provider", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_bad_flags_give_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["fake-provider", "--port", str(port)])
    assert code == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and err.count("\n") == 1
