"""The examples in the providers layer's docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import types

import pytest

from callboard.providers import _catalog, _request, _spec


@pytest.mark.parametrize("module", [_catalog, _request, _spec])
def test_docstring_examples(module: types.ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
