"""The layout of lib/callboard holds: folders import only down the layer list, no folder
cycle, no module over 500 lines, and the fake provider shares no code with the client.

The order is the one docs/concepts/architecture.md gives. A folder may import any
folder listed before it (and the modules at the package root); nothing may import a
folder listed after it. Imports inside ``if TYPE_CHECKING:`` count too: a type that
points up the list is a design smell even when it costs nothing at run time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import callboard

PACKAGE = Path(callboard.__file__).parent

# Lowest first. The modules at the package root (errors, serialization, _version) sit
# below every folder; __init__.py at the root is the public surface over all of them.
LAYERS = (
    "actors",
    "limits",
    "resilience",
    "providers",
    "calling",
    "executor",
    "endpoint",
    "imodel",
    "registry",
    "tools",
    "models",
    "tracing",
    "testing",
    "cli",
)
ROOT_MODULES = frozenset({"errors", "serialization", "_version"})
# The referee shares nothing with the client it judges: only the error root.
TESTING_MAY_IMPORT = frozenset({"errors"})
MAX_LINES = 500
KNOWN = frozenset(LAYERS) | ROOT_MODULES


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _unit(path: Path) -> str:
    """The folder a module belongs to, or its own name for a module at the root."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0] if len(parts) > 1 else Path(parts[0]).stem


def _imported_units(path: Path, source: str | None = None) -> Iterator[tuple[int, str]]:
    """(line, unit) for every import of a part of callboard in ``path`` (or in ``source``,
    read as if it were the module at ``path``)."""
    text = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(text, filename=str(path))
    here = path.relative_to(PACKAGE).parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "callboard" and len(parts) > 1:
                    yield node.lineno, parts[1]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(here[: len(here) - (node.level - 1)])
                parts = [*base, *(node.module.split(".") if node.module else [])]
                if not parts:  # "from . import x" at the root
                    parts = [alias.name for alias in node.names][:1]
            else:
                parts = (node.module or "").split(".")
                if parts[0] != "callboard":
                    continue
                parts = parts[1:]
                if not parts:  # "from callboard import x"
                    yield node.lineno, "callboard"
                    continue
            yield node.lineno, parts[0]


def _rank(unit: str) -> int:
    return -1 if unit in ROOT_MODULES else LAYERS.index(unit)


def test_every_folder_has_a_place_in_the_layer_list() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(LAYERS), "add the folder to LAYERS or remove it"
    roots = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert roots == ROOT_MODULES


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path: Path) -> None:
    unit = _unit(path)
    if path == PACKAGE / "__init__.py":
        return  # the public surface re-exports every layer
    upward = [
        f"line {line}: imports {target}"
        for line, target in _imported_units(path)
        if target != unit
        and (target == "callboard" or target not in KNOWN or _rank(target) > _rank(unit))
    ]
    assert upward == [], f"{path.relative_to(PACKAGE)} ({unit}) imports up the layer list"


def test_the_fake_provider_shares_no_code_with_the_client() -> None:
    for path in sorted((PACKAGE / "testing").rglob("*.py")):
        used = {target for _, target in _imported_units(path)} - {"testing"}
        assert used <= TESTING_MAY_IMPORT, f"{path.name} imports {sorted(used)}"


def test_no_cycle_between_folders() -> None:
    graph: dict[str, set[str]] = {}
    for path in _modules():
        if path == PACKAGE / "__init__.py":
            continue
        unit = _unit(path)
        graph.setdefault(unit, set()).update(
            t for _, t in _imported_units(path) if t != unit and t != "callboard"
        )
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> None:
        if node in visiting:
            cycle = [*visiting[visiting.index(node) :], node]
            raise AssertionError("import cycle between folders: " + " -> ".join(cycle))
        if node in done:
            return
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            visit(target)
        visiting.pop()
        done.add(node)

    for node in sorted(graph):
        visit(node)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_size(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines: split it by idea"


def test_the_public_surface_declares_all() -> None:
    assert "iModel" in callboard.__all__
    missing = [name for name in callboard.__all__ if not hasattr(callboard, name)]
    assert missing == []
    assert len(set(callboard.__all__)) == len(callboard.__all__)


def test_the_checker_sees_an_upward_import() -> None:
    # The rule itself must be able to fail: an executor module importing imodel/registry.
    probe = PACKAGE / "executor" / "probe.py"  # parsed from text, never written
    source = "from callboard.imodel import iModel\nfrom ..registry import x\nfrom . import y\n"
    found = [target for _, target in _imported_units(probe, source)]
    assert found == ["imodel", "registry", "executor"]
    assert [t for t in found if _rank(t) > _rank("executor")] == ["imodel", "registry"]
