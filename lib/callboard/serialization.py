"""The project's one cattrs converter, at the bottom of the layers so every layer can use it.

``converter`` is the single ``Converter`` callboard (un)structures its
configuration with; each layer registers its config classes on it rather than building
its own. ``structure`` turns cattrs' error group into one [`ConfigError`][callboard.ConfigError]
that names every field's problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import cattrs

from callboard.errors import ConfigError

__all__ = ["converter", "structure"]

converter = cattrs.Converter(forbid_extra_keys=True)
"""callboard's one converter: every config class is (un)structured through it."""


_T = TypeVar("_T")


def structure(data: Mapping[str, Any], cls: type[_T], what: str) -> _T:
    """``data`` as ``cls`` through ``converter``, or one ConfigError naming every problem.

    Args:
        data: the decoded JSON (a mapping).
        cls: the attrs class to build.
        what: how the error names what was expected ("an iModel configuration").
    """
    try:
        return converter.structure(dict(data), cls)
    except cattrs.BaseValidationError as group:
        problems = "; ".join(cattrs.transform_error(group, path="data"))
        raise ConfigError(f"not {what}: {problems}") from group
