"""The Python examples in docs/resilience.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).parents[2] / "docs" / "resilience.md"


def test_every_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)
    assert blocks
    for number, block in enumerate(blocks):
        exec(compile(block, f"{PAGE.name} example {number}", "exec"), {})
