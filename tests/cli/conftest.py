"""A fake provider served by ``callboard fake-provider`` in a subprocess, for the CLI
commands that talk to a "real" provider by URL (the tests call ``main`` in-process, which
runs its own ``trio.run``, so the server cannot share their Trio run)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """The base URL (no ``/v1``) of a fake provider accepting the key ``k-call``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "callboard.cli", "fake-provider", "--port", "0", "--key", "k-call"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("fake provider listening on http://127.0.0.1:")
        yield line.split()[4]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - only if shutdown hangs
            process.kill()
            process.wait()
