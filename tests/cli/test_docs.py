"""Every ``$ callboard ...`` line in a ```console block of docs/cli.md runs and succeeds.

Blocks fenced ```console notest (the 20-second default run, real providers, a server on
a fixed port) are only shown. Python blocks, if the page gets any, are left to the
repository-wide docs test.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

PAGE = Path(__file__).parents[2] / "docs/cli.md"
_BLOCK = re.compile(r"^```console\n(?P<body>.*?)^```", re.M | re.S)


def _commands() -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    return [
        line.removeprefix("$ ")
        for block in _BLOCK.finditer(text)
        for line in block["body"].splitlines()
        if line.startswith("$ callboard ")
    ]


COMMANDS = _commands()


def test_the_page_has_runnable_commands() -> None:
    assert len(COMMANDS) >= 4


@pytest.mark.parametrize("command", COMMANDS)
def test_command_runs(command: str) -> None:
    argv = shlex.split(command)
    assert argv[0] == "callboard"
    result = subprocess.run(
        [sys.executable, "-m", "callboard.cli", *argv[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    if "--json" in argv:
        report = json.loads(result.stdout)
        assert report["completed"] + report["failed"] == report["requested"]
        if "--no-client-limits" in argv:
            assert report["rate_limited_429"] == report["server"]["rate_limited"] > 0
        elif "--rpm" in argv:
            assert report["rate_limited_429"] == 0
