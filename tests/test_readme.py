"""The README's examples run, like every example under docs/ (see tests/test_docs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_docs import ROOT, Block, _blocks
from .test_docs import test_python_block_runs as _run_block

README = ROOT / "README.md"
BLOCKS: list[Block] = [
    ("../README.md", info, source, line, promised)
    for info, source, line, promised in _blocks(README)
    if info == "python"
]


def test_the_readme_has_an_example() -> None:
    assert BLOCKS, "README.md lost its runnable example"


@pytest.mark.parametrize("block", BLOCKS, ids=[f"README.md:{b[3]}" for b in BLOCKS])
def test_readme_example_runs(block: Block, tmp_path: Path) -> None:
    _run_block(block, tmp_path)


def test_the_quick_start_is_the_ci_test_command() -> None:
    # The README promises that its second command runs the whole suite; CI runs the same.
    readme = README.read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install nox && nox -s tests" in readme
    assert "nox -s tests" in ci
    assert "callboard bench" in readme
