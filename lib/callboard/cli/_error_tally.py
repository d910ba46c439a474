"""Why calls failed: error kinds with counts, the first real cause, circuits that opened.

Lifecycle events carry an error as its repr (``ConnectionFailed('the connection to openai
failed: ...', status=None, ...)``), never the object, so the kind and the message are read
back from that text. ``CircuitOpen`` says only that the breaker refused a call; the error
that opened the breaker is the last other error seen before it, and the bench shows that
one, since it is what the user can fix.
"""

from __future__ import annotations

import ast
from collections import Counter

import attrs

__all__ = ["CIRCUIT_OPEN", "ErrorTally", "describe"]

CIRCUIT_OPEN = "CircuitOpen"
_TOP = 3  # kinds shown in the table; the rest are summed as "other"


def describe(text: str) -> tuple[str, str]:
    """``(kind, message)`` of an exception's repr (or of any other text).

    Example:
        >>> describe("ConnectionFailed('refused', status=None)")
        ('ConnectionFailed', 'refused')
        >>> describe("boom")
        ('boom', 'boom')
    """
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        node = None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        kind = node.func.id
        first = node.args[0] if node.args else None
        if isinstance(first, ast.Constant) and isinstance(first.value, str) and first.value:
            return kind, first.value.splitlines()[0]
        return kind, kind
    kind = text.split("(", 1)[0].strip() or "error"
    return kind, text.strip().splitlines()[0] if text.strip() else kind


@attrs.frozen
class CircuitOpened:
    """An Endpoint's breaker opened after ``failures`` failures in a row, the last of
    them ``cause`` (``None`` if no error was seen before it)."""

    endpoint: str
    failures: int
    cause: str | None


class ErrorTally:
    """Error kinds of the calls that failed and of the attempts that were retried."""

    def __init__(self) -> None:
        self.failed: Counter[str] = Counter()
        """Kind of the final error of each failed call."""
        self.retried: Counter[str] = Counter()
        """Kind of the error of each attempt that was retried."""
        self.first_cause: str | None = None
        """``"Kind: message"`` of the first error that was not a refusal by an open
        circuit: what went wrong first, and most often what to fix."""
        self.circuits: list[CircuitOpened] = []
        self._last: str | None = None

    def attempt_failed(self, error: str, *, final: bool) -> str:
        """Count the repr ``error`` of an attempt (``final``: the call failed with it);
        returns its kind."""
        kind, message = describe(error)
        (self.failed if final else self.retried)[kind] += 1
        if kind != CIRCUIT_OPEN:
            self._last = f"{kind}: {message}"
            if self.first_cause is None:
                self.first_cause = self._last
        return kind

    def circuit_opened(self, endpoint: str, failures: int) -> None:
        self.circuits.append(CircuitOpened(endpoint, failures, self._last))

    @staticmethod
    def top(counts: Counter[str]) -> str:
        """``"15 CircuitOpen, 5 ConnectionFailed"``: the most common kinds, the rest summed."""
        common = counts.most_common()
        parts = [f"{count:,} {kind}" for kind, count in common[:_TOP]]
        rest = sum(count for _, count in common[_TOP:])
        if rest:
            parts.append(f"{rest:,} other")
        return ", ".join(parts)
