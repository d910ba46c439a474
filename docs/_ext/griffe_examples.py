"""A griffe extension for the API reference: render our examples as code.

Two spellings in the docstrings would otherwise come out as plain text:

- ``Example:`` followed by doctest lines. Google style names the section ``Examples:``;
  griffe renders ``Example:`` as an admonition of plain Markdown, so doctest lines such
  as ``>>> tool["function"]["parameters"]`` turn into broken reference links and fail
  ``mkdocs build --strict``. Renamed on the fly (only when the block holds ``>>>``
  lines), they render as code.
- reStructuredText's literal block: a line ending in ``::`` (``Example::``, or a
  sentence ending ``... is yours::``) followed by an indented block. Markdown has no such
  thing, so the ``::`` becomes ``:`` and the block is fenced as Python.

The source docstrings stay as they are: ``help()`` and IDEs read them as written.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(?P<indent>[ \t]*)Example:[ \t]*\n(?=(?:[ \t]*\n)*[ \t]+>>>)", re.M)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def fence_literal_blocks(text: str) -> str:
    """Turn each reST literal block (``...::`` then an indented block) into a fenced
    Python block under the same line, ending in ``:``."""
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.rstrip().endswith("::") or not line.strip().rstrip(":"):
            out.append(line)
            continue
        following = index
        while following < len(lines) and not lines[following].strip():
            following += 1
        if following == len(lines) or _indent(lines[following]) <= _indent(line):
            out.append(line)
            continue
        depth = _indent(lines[following])
        end = following
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) >= depth):
            end += 1
        while end > following and not lines[end - 1].strip():
            end -= 1
        # Under a section title the block is the section's body; under a sentence it is
        # a paragraph of its own, at the sentence's depth (deeper would make Markdown
        # read the fence itself as indented code).
        title = line.strip() in ("Example::", "Examples::")
        at = depth if title else _indent(line)
        block = [code[depth - at :] if code.strip() else "" for code in lines[following:end]]
        out.append(line.rstrip()[:-1])
        if not title:
            out.append("")
        out += [" " * at + "```python", *block, " " * at + "```"]
        index = end
    return "\n".join(out)


class ExampleSections(griffe.Extension):
    """Rewrite ``Example:`` before doctest lines to ``Examples:``, and fence reST
    literal blocks."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            value = _EXAMPLE.sub(r"\g<indent>Examples:\n", obj.docstring.value)
            obj.docstring.value = fence_literal_blocks(value)
