"""Every ```python block in docs/ runs as a script, so no example can rot.

The convention (documented in docs/contributing-docs.md):

- a fenced block whose info string is exactly ``python`` is a complete script: it is
  run in a fresh interpreter (``python -W error``) with a timeout and must exit 0;
- a fragment that cannot run alone (top-level ``await``, ``...`` placeholders) is
  fenced as ``python notest`` and is only checked to parse when it is plain Python;
- a page whose blocks another test module already runs (a module that names
  ``"docs"`` and ``"page.md"``, like tests/actors/test_docs.py) is left to that module,
  so no example runs twice.

Examples talk only to ``callboard.testing.FakeProvider`` on loopback or to a ``Tool``:
the test would fail on a machine without network otherwise, and CI has none.

Besides running the code this checks what ``mkdocs build --strict`` would reject, so a
broken page fails the test suite rather than only the (slower) docs build: every
relative link points at a file that exists, every page is in the nav of mkdocs.yml, and
every ``::: module`` of the API reference imports.
"""

from __future__ import annotations

import ast
import html
import importlib
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
MKDOCS = ROOT / "mkdocs.yml"


def _covered() -> dict[str, str]:
    """Pages (relative to docs/) whose python blocks another test module runs: the
    ``"page.md"`` literals of a test module (outside this one) that mentions ``"docs"``."""
    covered: dict[str, str] = {}
    for module in sorted(ROOT.glob("tests/*/test_*.py")):
        text = module.read_text(encoding="utf-8")
        if '"docs"' not in text:
            continue
        for page in re.findall(r"\"([\w./-]+\.md)\"", text):
            covered[page] = module.relative_to(ROOT).as_posix()
    return covered


COVERED = _covered()

TIMEOUT = 60.0

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.M | re.S,
)
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)\)")


def _pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def _name(page: Path) -> str:
    return page.relative_to(DOCS).as_posix()


def _blocks(page: Path) -> list[tuple[str, str, int, str | None]]:
    """``(info, source, line, promised output)`` of every fenced block of ``page``.

    The promised output is the ```text block that directly follows a block when the
    prose between them says "It prints": the script's stdout must then equal it.
    """
    text = page.read_text(encoding="utf-8")
    matches = list(_FENCE.finditer(text))
    found: list[tuple[str, str, int, str | None]] = []
    for index, match in enumerate(matches):
        body = textwrap.dedent(match["body"]) if match["indent"] else match["body"]
        line = text.count("\n", 0, match.start()) + 1
        promised = None
        following = matches[index + 1] if index + 1 < len(matches) else None
        if (
            following is not None
            and following["info"].strip() == "text"
            and "It prints" in text[match.end() : following.start()]
        ):
            promised = following["body"]
        found.append((match["info"].strip(), body, line, promised))
    return found


Block = tuple[str, str, str, int, str | None]
"""``(page, info, source, line, promised output)``."""


def _python_blocks() -> list[Block]:
    return [
        (_name(page), info, source, line, promised)
        for page in _pages()
        for info, source, line, promised in _blocks(page)
        if info.split(" ", 1)[0] == "python"
    ]


BLOCKS = _python_blocks()
SCRIPTS = [b for b in BLOCKS if b[1] == "python" and b[0] not in COVERED]
FRAGMENTS = [b for b in BLOCKS if b[1] != "python"]


def _id(block: Block) -> str:
    return f"{block[0]}:{block[3]}"


def test_the_docs_have_runnable_examples() -> None:
    assert len(SCRIPTS) >= 10
    pages = {page for page, *_ in SCRIPTS}
    assert {"getting-started.md", "howto/embed-in-trio.md"} <= pages


@pytest.mark.parametrize("block", SCRIPTS, ids=[_id(b) for b in SCRIPTS])
def test_python_block_runs(block: Block, tmp_path: Path) -> None:
    page, _, source, line, promised = block
    script = tmp_path / "example.py"
    script.write_text(source, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": ""}
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):  # examples must not need one
        env.pop(variable, None)
    try:
        result = subprocess.run(
            [sys.executable, "-W", "error", str(script)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
            cwd=tmp_path,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"docs/{page}:{line}: the example ran longer than {TIMEOUT:g} s")
    assert result.returncode == 0, (
        f"docs/{page}:{line}: the example failed. If it is a fragment that cannot run "
        f"alone, fence it as ```python notest.\n{result.stderr}"
    )
    if promised is not None:
        assert result.stdout == promised, f"docs/{page}:{line}: the output the page shows"


@pytest.mark.parametrize("block", FRAGMENTS, ids=[_id(b) for b in FRAGMENTS])
def test_fragment_is_marked_and_parses(block: Block) -> None:
    page, info, source, line, _ = block
    words = info.split()
    assert words[1:] == ["notest"], (
        f"docs/{page}:{line}: unknown info string {info!r}; use ```python (a complete "
        "script, executed) or ```python notest (a fragment)"
    )
    # top-level await is how fragments show async calls; it must still be Python
    ast.parse(source, filename=f"docs/{page}", feature_version=(3, 11), type_comments=False)


def test_pages_covered_elsewhere_exist() -> None:
    assert "actors.md" in COVERED  # the detection works
    for page, module in COVERED.items():
        assert (DOCS / page).is_file(), f"{module} runs docs/{page}, which does not exist"


# -- what mkdocs build --strict would reject ----------------------------------------------


def _nav_pages() -> set[str]:
    return set(re.findall(r"(?<=[\s:])([\w./-]+\.md)\b", MKDOCS.read_text(encoding="utf-8")))


GENERATED = {"benchmarks.md"}
"""Pages a tool writes (``nox -s bench``): in the nav even before their first run."""


def test_every_page_is_in_the_nav() -> None:
    nav = _nav_pages()
    pages = {_name(page) for page in _pages()}
    assert pages - nav == set(), "add these pages to the nav of mkdocs.yml"
    assert nav - pages - GENERATED == set(), "the nav of mkdocs.yml names missing pages"


@pytest.mark.parametrize("page", _pages(), ids=_name)
def test_relative_links_resolve(page: Path) -> None:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    broken: list[str] = []
    for match in _LINK.finditer(text):
        target = match["target"]
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0]
        if not (page.parent / path).resolve().is_file():
            broken.append(target)
    assert broken == [], f"docs/{_name(page)}: broken links"


def _reference_modules() -> list[str]:
    return sorted(
        {
            module
            for page in (DOCS / "reference").glob("*.md")
            for module in re.findall(r"^::: ([\w.]+)", page.read_text(encoding="utf-8"), re.M)
        }
    )


def test_reference_documents_every_public_layer() -> None:
    assert set(_reference_modules()) >= {
        "callboard",
        "callboard.actors",
        "callboard.limits",
        "callboard.resilience",
        "callboard.providers",
        "callboard.calling",
        "callboard.executor",
        "callboard.endpoint",
        "callboard.imodel",
        "callboard.registry",
        "callboard.tools",
        "callboard.models",
        "callboard.tracing",
        "callboard.testing",
    }


@pytest.mark.parametrize("module", _reference_modules())
def test_reference_module_imports(module: str) -> None:
    imported = importlib.import_module(module)
    assert imported.__doc__, f"{module} needs a module docstring: it heads its reference page"


# -- the rendered API reference -----------------------------------------------------------


@pytest.fixture(scope="module")
def reference_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The API reference pages built by mkdocs with the project's own mkdocstrings
    options and griffe extensions (the other pages are left out: it takes a third of
    the time)."""
    pytest.importorskip("mkdocstrings_handlers.python")
    import shutil

    import yaml

    work = tmp_path_factory.mktemp("reference")
    shutil.copytree(DOCS / "reference", work / "docs" / "reference")
    config = yaml.safe_load(MKDOCS.read_text(encoding="utf-8"))
    config.update(docs_dir=str(work / "docs"), site_dir=str(work / "site"), strict=False)
    config["nav"] = [
        {
            "API reference": [
                f"reference/{page.name}" for page in sorted(DOCS.glob("reference/*.md"))
            ]
        }
    ]
    python = config["plugins"][1]["mkdocstrings"]["handlers"]["python"]
    python["paths"] = [str(ROOT / "lib")]
    options = python["options"]
    options["extensions"] = [str(ROOT / extension) for extension in options["extensions"]]
    (work / "mkdocs.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--quiet", "-f", str(work / "mkdocs.yml")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr
    return work / "site" / "reference"


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_the_callboard_page_documents_every_public_name(reference_site: Path) -> None:
    import callboard

    page = (reference_site / "callboard" / "index.html").read_text(encoding="utf-8")
    documented = set(re.findall(r'id="callboard\.(\w+)"', page))
    assert "iModel" in documented
    assert {name for name in callboard.__all__ if not name.startswith("_")} <= documented


def test_attrs_classes_show_their_types_and_defaults(reference_site: Path) -> None:
    page = (reference_site / "calling" / "index.html").read_text(encoding="utf-8")
    start = page.index('id="callboard.calling.Calling"')
    table = _text(page[start : page.index("Examples:", start)])
    # name, type, description, default: nothing with a default is "required".
    assert "timeout float | None seconds for queueing plus running" in table
    assert "no limit. None streaming bool whether" in table
    assert (
        "estimate. 0 stream_sink MemorySendChannel [ StreamDelta ] | None"
        in _text(page[start : start + 20_000])
        or "decide. 0 stream_sink" in table
    )
    assert "required" not in table
    assert "Calling ( payload : dict [ str , Any ] = dict [ str , Any ](), * , timeout" in table


def test_literal_blocks_render_as_code(reference_site: Path) -> None:
    page = (reference_site / "actors" / "index.html").read_text(encoding="utf-8")
    start = page.index('id="callboard.actors.Broadcast"')
    example = page[start : page.index('id="callboard.actors.Broadcast.published"', start)]
    assert "Example::" not in example
    block = example[example.index('<details class="example"') :]
    code = block[block.index('<div class="highlight"><pre>') : block.index("</pre>")]
    assert "with bus.subscribe() as sub:" in html.unescape(re.sub(r"<[^>]+>", "", code))


def test_no_sphinx_role_prints_literally(reference_site: Path) -> None:
    # mkdocstrings renders Markdown: ":class:`Calling`" came out as text. Docstrings use
    # autorefs cross-references instead, [`Calling`][callboard.Calling].
    role = re.compile(r":(?:class|meth|func|attr|data|exc|mod|obj):")
    for page in sorted(reference_site.rglob("index.html")):
        found = role.findall(_text(page.read_text(encoding="utf-8")))
        assert found == [], f"{page.relative_to(reference_site)} shows Sphinx roles"
    # the cross-references render as links to the names' entries on the callboard page
    page = (reference_site / "calling" / "index.html").read_text(encoding="utf-8")
    assert 'href="../callboard/#callboard.' in page
