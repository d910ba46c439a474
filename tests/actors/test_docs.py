"""Run every ```python block of docs/actors.md as a script, so the docs cannot rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "actors.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```python\n(.*?)^```", TEXT, re.M | re.S)


def test_the_page_has_runnable_examples() -> None:
    assert len(BLOCKS) >= 2
    assert any("Supervisor(" in block for block in BLOCKS)


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_python_block_runs(source: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(source, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout


def test_tree_example_prints_what_the_page_promises(tmp_path: Path) -> None:
    tree = next(block for block in BLOCKS if "Supervisor(" in block)
    promised = TEXT.split("Its output starts like this", 1)[1]
    promised = promised.split("```text\n", 1)[1].split("```", 1)[0]
    script = tmp_path / "tree.py"
    script.write_text(tree, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    printed = [line for line in result.stdout.splitlines() if not line.startswith("  event:")]
    assert printed[:4] == promised.splitlines()
    assert "hello, again" in printed
    # the observer saw the restart and the reverse-order stop
    assert "  event: ChildRestarted greeter" in result.stdout
    stops = [line for line in result.stdout.splitlines() if "ChildStopped" in line]
    assert stops == [
        "  event: ChildStopped replica",
        "  event: ChildStopped primary",
        "  event: ChildStopped storage",
        "  event: ChildStopped greeter",
    ]
