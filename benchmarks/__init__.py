"""callboard's benchmark suite: ``nox -s bench`` or ``python -m benchmarks [NAME ...]``."""
