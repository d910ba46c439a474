"""parse_partial_json: what a cut-off JSON text says so far.

A tool call stopped by ``max_tokens`` (or a broken stream) leaves its arguments as the
beginning of a JSON text. What is worth showing is every member whose value arrived
whole: ``{"city": "Paris", "days": 3, "note": "sun`` says ``{"city": "Paris", "days":
3}``. The official SDKs read streamed tool input the same way (the ``jiter`` parser's
partial mode): an unfinished string, number or literal is left out with its key, and
every open array and object is closed.
"""

from __future__ import annotations

import json
import re

__all__ = ["parse_partial_json"]

_MAX_DEPTH = 200
_WHITESPACE = " \t\n\r"
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_NUMBER_TAIL = frozenset("0123456789.eE+-")
_LITERALS = {"true": True, "false": False, "null": None}


class _Cut(Exception):
    """The text ended inside a scalar (or a key): that member is dropped."""


def parse_partial_json(text: str) -> object:
    """The value the beginning of a JSON text stands for.

    Raises:
        ValueError: ``text`` is not the beginning of a JSON text (or is only an
            unfinished scalar, or nests more than 200 levels deep).

    Example:
        >>> parse_partial_json('{"city": "Paris", "days": [1, 2')
        {'city': 'Paris', 'days': [1, 2]}
        >>> parse_partial_json('{"city": "Paris", "note": "sun')
        {'city': 'Paris'}
    """
    parser = _Parser(text)
    try:
        value, _ = parser.value(parser.skip(0), 0)
    except _Cut:
        raise ValueError("the text ends inside its only value") from None
    return value


class _Parser:
    __slots__ = ("end", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.end = len(text)

    def skip(self, index: int) -> int:
        while index < self.end and self.text[index] in _WHITESPACE:
            index += 1
        return index

    def value(self, index: int, depth: int) -> tuple[object, int]:
        """The value at ``index`` and where it ends (``end`` when cut off inside a
        container, which then holds what arrived)."""
        if index >= self.end:
            raise _Cut
        char = self.text[index]
        if char == "{" or char == "[":
            if depth >= _MAX_DEPTH:
                raise ValueError(f"nested more than {_MAX_DEPTH} levels deep")
            if char == "{":
                return self.object(index + 1, depth + 1)
            return self.array(index + 1, depth + 1)
        if char == '"':
            return self.string(index)
        if char == "-" or char.isdigit():
            return self.number(index)
        return self.literal(index)

    def object(self, index: int, depth: int) -> tuple[object, int]:
        members: dict[str, object] = {}
        index = self.skip(index)
        if index < self.end and self.text[index] == "}":
            return members, index + 1
        while True:
            index = self.skip(index)
            if index >= self.end:
                return members, self.end
            if self.text[index] != '"':
                raise ValueError(f"expected a key at {index}")
            try:
                key, index = self.string(index)
                index = self.skip(index)
                if index >= self.end:
                    return members, self.end
                if self.text[index] != ":":
                    raise ValueError(f"expected ':' at {index}")
                value, index = self.value(self.skip(index + 1), depth)
            except _Cut:
                return members, self.end
            members[str(key)] = value
            if index >= self.end:
                return members, self.end
            index = self.skip(index)
            if index >= self.end:
                return members, self.end
            if self.text[index] == "}":
                return members, index + 1
            if self.text[index] != ",":
                raise ValueError(f"expected ',' or '}}' at {index}")
            index += 1

    def array(self, index: int, depth: int) -> tuple[object, int]:
        items: list[object] = []
        index = self.skip(index)
        if index < self.end and self.text[index] == "]":
            return items, index + 1
        while True:
            index = self.skip(index)
            if index >= self.end:
                return items, self.end
            try:
                value, index = self.value(index, depth)
            except _Cut:
                return items, self.end
            items.append(value)
            index = self.skip(index)
            if index >= self.end:
                return items, self.end
            if self.text[index] == "]":
                return items, index + 1
            if self.text[index] != ",":
                raise ValueError(f"expected ',' or ']' at {index}")
            index += 1

    def string(self, index: int) -> tuple[object, int]:
        close = self._closing_quote(index + 1)
        if close < 0:
            raise _Cut
        value: object = json.loads(self.text[index : close + 1])  # escapes, control chars
        return value, close + 1

    def _closing_quote(self, index: int) -> int:
        text, end = self.text, self.end
        while index < end:
            char = text[index]
            if char == '"':
                return index
            index += 2 if char == "\\" else 1
        return -1

    def number(self, index: int) -> tuple[object, int]:
        found = _NUMBER.match(self.text, index)
        stop = found.end() if found is not None else index
        rest = self.text[stop:]
        if rest and all(char in _NUMBER_TAIL for char in rest):
            raise _Cut  # the number goes on past the end: "12." or "1e"
        if found is None:
            if self.text[index:] == "-":
                raise _Cut
            raise ValueError(f"not a number at {index}")
        return json.loads(found.group()), stop

    def literal(self, index: int) -> tuple[object, int]:
        rest = self.text[index : index + 5]
        for word, value in _LITERALS.items():
            if rest.startswith(word):
                return value, index + len(word)
            if word.startswith(rest) and index + len(rest) == self.end:
                raise _Cut
        raise ValueError(f"unexpected {self.text[index]!r} at {index}")
