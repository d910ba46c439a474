"""The ``callboard`` command line."""

from __future__ import annotations

from ._main import main as main
