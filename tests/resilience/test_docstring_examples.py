"""The examples in the resilience layer's docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import types

import pytest

from callboard.providers import _normalized
from callboard.resilience import _circuit, _classify, _retry


@pytest.mark.parametrize("module", [_circuit, _classify, _retry, _normalized])
def test_docstring_examples(module: types.ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
