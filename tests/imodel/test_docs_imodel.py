"""Every python block of docs/imodel.md, docs/hooks.md and docs/tools.md runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[2] / "docs"
PAGES = [DOCS / "imodel.md", DOCS / "hooks.md", DOCS / "tools.md"]
BLOCKS = [
    (page.name, block)
    for page in PAGES
    for block in re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), re.M | re.S)
]


def test_every_page_has_examples() -> None:
    for page in PAGES:
        assert sum(1 for name, _ in BLOCKS if name == page.name) >= 2, page.name


@pytest.mark.parametrize(
    ("page", "source"), BLOCKS, ids=[f"{name}-{i}" for i, (name, _) in enumerate(BLOCKS)]
)
def test_python_block_runs(page: str, source: str, tmp_path: Path) -> None:
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
