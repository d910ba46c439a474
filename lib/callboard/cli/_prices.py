"""``--prices FILE``: add models to the price table the bench and call price with.

The file is JSON: model name -> prices in US dollars per million tokens, the fields of
``callboard.ModelPrice``::

    {"my-finetune": {"input": 0.3, "output": 1.2, "cache_read": 0.03}}

The entries are registered in ``callboard.PRICES`` while the command runs (and taken out
again after, so a program that calls ``main`` keeps its own table); a model already
listed takes the file's price.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

from callboard.errors import ConfigError
from callboard.providers import PRICES, ModelPrice

from ._errors import CliError

__all__ = ["add_prices_argument", "prices_from"]

_FIELDS = ("input", "output", "cache_read", "cache_write")


def add_prices_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--prices",
        metavar="FILE",
        help='JSON prices to add, per million tokens: {"model": {"input": 0.3, "output": 1.2}}',
    )


def _price(model: str, entry: Any) -> ModelPrice:
    if not isinstance(entry, dict):
        raise CliError(
            f"--prices: the price of {model!r} must be an object like "
            '{"input": 0.3, "output": 1.2}',
            exit_code=2,
        )
    fields: dict[str, Any] = entry  # pyright: ignore[reportUnknownVariableType]
    unknown = sorted(set(fields) - set(_FIELDS))
    if unknown:
        raise CliError(
            f"--prices: {model!r} has unknown field(s) {', '.join(unknown)}; "
            f"the fields are {', '.join(_FIELDS)}",
            exit_code=2,
        )
    try:
        return ModelPrice(**fields)
    except TypeError:
        raise CliError(f"--prices: {model!r} needs both input and output", exit_code=2) from None
    except ConfigError as error:
        raise CliError(f"--prices: {model!r}: {error}", exit_code=2) from None


def _read(path: str) -> dict[str, ModelPrice]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise CliError(f"--prices {path}: cannot read it: {error.strerror or error}") from None
    except ValueError as error:
        raise CliError(f"--prices {path}: not JSON: {error}", exit_code=2) from None
    if not isinstance(data, dict):
        raise CliError(f"--prices {path}: expected an object of model name -> prices", exit_code=2)
    entries: dict[str, Any] = data  # pyright: ignore[reportUnknownVariableType]
    return {str(model): _price(str(model), entry) for model, entry in entries.items()}


@contextlib.contextmanager
def prices_from(path: str | None) -> Generator[None]:
    """Price with the models of ``path`` added (``None``: as is) inside the block.

    Raises:
        CliError: the file is missing, not JSON, or holds a bad price.
    """
    if path is None:
        yield
        return
    prices = _read(path)
    before = {model: PRICES.entries.get(model) for model in prices}
    PRICES.update(prices)
    try:
        yield
    finally:
        for model, price in before.items():
            if price is None:
                PRICES.unregister(model)
            else:
                PRICES.register(model, price)
