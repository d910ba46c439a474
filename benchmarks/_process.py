"""A benchmark's server in a process of its own, so that its CPU is not the client's."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def serving(module: str, *args: str) -> Iterator[str]:
    """Run ``python -m module *args``; yield the first line it prints (its port or URL).

    The server serves until its stdin closes, which happens on leaving the block.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def fake_provider(
    args: Sequence[str], *, on_stop: Callable[[str], None] | None = None
) -> Iterator[str]:
    """``callboard fake-provider --port 0 *args`` in a process of its own; yields its
    base URL and stops it with Ctrl-C on leaving the block, then hands what it printed
    when it stopped (its counters) to ``on_stop``."""
    command = [sys.executable, "-m", "callboard.cli", "fake-provider", "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("fake provider listening on "):
            _, err = process.communicate(timeout=10)
            raise RuntimeError(f"the fake provider did not start: {line!r} {err[-500:]!r}")
        yield line.split()[4]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            out, _ = process.communicate(timeout=10)
            if on_stop is not None:
                on_stop(out)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
