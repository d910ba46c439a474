"""A griffe extension for the API reference: read ``Example:`` as an Examples section.

Google style names the section ``Examples:``; our docstrings often say ``Example:``,
which griffe renders as an admonition of plain Markdown, so doctest lines such as
``>>> tool["function"]["parameters"]`` turn into broken reference links and fail
``mkdocs build --strict``. Renaming the heading on the fly (only when the block holds
``>>>`` lines) renders them as code, without touching the source docstrings.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLE = re.compile(r"^(?P<indent>[ \t]*)Example:[ \t]*\n(?=(?:[ \t]*\n)*[ \t]+>>>)", re.M)


class ExampleSections(griffe.Extension):
    """Rewrite ``Example:`` followed by doctest lines to ``Examples:``."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _EXAMPLE.sub(r"\g<indent>Examples:\n", obj.docstring.value)
