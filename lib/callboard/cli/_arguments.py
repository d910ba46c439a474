"""argparse value types whose errors read as one line: what was expected, what came.

argparse puts the flag's name in front (``argument --timeout: expected a number of
seconds > 0, got '-1'``), so a wrong value always names the flag it was given to.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import TypeVar

__all__ = ["fraction", "non_negative_int", "positive_int", "positive_seconds", "seconds"]

N = TypeVar("N", int, float)


def _checked(text: str, parse: Callable[[str], N], ok: Callable[[N], bool], expected: str) -> N:
    try:
        value = parse(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An int >= 1."""
    return _checked(text, int, lambda v: v >= 1, "a whole number >= 1")


def non_negative_int(text: str) -> int:
    """An int >= 0."""
    return _checked(text, int, lambda v: v >= 0, "a whole number >= 0")


def positive_seconds(text: str) -> float:
    """A finite number of seconds > 0."""
    return _checked(text, float, lambda v: math.isfinite(v) and v > 0, "a number of seconds > 0")


def seconds(text: str) -> float:
    """A finite number of seconds >= 0."""
    return _checked(text, float, lambda v: math.isfinite(v) and v >= 0, "a number of seconds >= 0")


def fraction(text: str) -> float:
    """A number in [0, 1]."""
    return _checked(text, float, lambda v: 0 <= v <= 1, "a number from 0 to 1")
