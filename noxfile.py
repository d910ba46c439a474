"""Developer sessions: tests, lint, typecheck, bench, docs.

``nox -s tests`` is the README's test command and the one CI runs on a fresh clone.
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.default_venv_backend = "venv"

PYTHON = None  # the interpreter nox itself runs on: the README promises only "Python 3.11+"

# Checkers are pinned: a new release with new rules must not turn a green main red.
RUFF = "ruff==0.17.6"
PYRIGHT = "pyright==1.1.414"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the whole test suite (pytest in trio mode, warnings are errors)."""
    # docs: tests/test_docs.py builds the API reference and reads what it rendered.
    session.install("-e", ".[test,docs]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    session.install(RUFF)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """pyright in strict mode over lib/."""
    session.install("-e", ".[test]", PYRIGHT)
    session.run("pyright", "lib")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run every benchmark in benchmarks/ and print ratios against same-run baselines."""
    # aiohttp is a baseline of bench_transport only, LiteLLM (its Router) one of
    # bench_router only; neither is ever a dependency of callboard.
    session.install("-e", ".[test]", "aiohttp", "litellm")
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the docs site (mkdocs, material, mkdocstrings) with warnings as errors."""
    session.install("-e", ".[docs]")
    site = os.path.join(session.create_tmp(), "site")
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        site,
        *session.posargs,
        env={"NO_MKDOCS_2_WARNING": "1"},  # the upgrade banner is not a docs problem
    )


@nox.session(python=PYTHON)
def soak(session: nox.Session) -> None:
    """The reliability soak: 100,000 Callings under faults, crashes and cancellations."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "benchmarks.soak", *session.posargs)
