"""FileParts: the files of a multipart request, where one name may carry several files.

OpenAI's image edits take several images as repeated ``image[]`` parts, which a plain
dict cannot hold. ``FileParts`` is a read-only multi-mapping (as ``multidict`` and
``email.message`` are): ``items()`` gives every part in order, a name once per file,
and indexing gives a name's first file. Both HTTP transports encode a request's files
by iterating ``items()``, so they send every part without knowing about this class.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterable, Iterator, Mapping
from typing import cast

__all__ = ["FilePart", "FileParts"]

FilePart = tuple[str, bytes, str]
"""One uploaded file: ``(filename, content, content type)``."""


class _AllParts(ItemsView[str, FilePart]):
    """Every ``(name, file)`` pair, repeated names included."""

    def __init__(self, parts: FileParts) -> None:
        super().__init__(parts)
        self._parts = parts

    def __iter__(self) -> Iterator[tuple[str, FilePart]]:
        return iter(self._parts.parts)

    def __len__(self) -> int:
        return len(self._parts.parts)


class FileParts(Mapping[str, FilePart]):
    """Multipart files in the order they are sent; a name may repeat (``image[]``).

    Example:
        >>> files = FileParts([("image[]", ("a.png", b"1", "image/png")),
        ...                    ("image[]", ("b.png", b"2", "image/png"))])
        >>> [name for name, _ in files.items()], len(files), files["image[]"][0]
        (['image[]', 'image[]'], 1, 'a.png')
    """

    __slots__ = ("parts",)

    def __init__(self, parts: Iterable[tuple[str, FilePart]] = ()) -> None:
        self.parts: tuple[tuple[str, FilePart], ...] = tuple(parts)

    def __getitem__(self, name: str) -> FilePart:
        for part_name, part in self.parts:
            if part_name == name:
                return part
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(name for name, _ in self.parts))

    def __len__(self) -> int:
        return len(dict.fromkeys(name for name, _ in self.parts))

    def items(self) -> ItemsView[str, FilePart]:
        """Every part, a name once per file."""
        return _AllParts(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FileParts):
            return self.parts == other.parts
        if isinstance(other, Mapping):  # a plain mapping holds each name once
            plain = cast(Mapping[object, object], other)
            return len(self.parts) == len(self) and dict(self.parts) == dict(plain)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.parts)

    def __repr__(self) -> str:  # the contents are uploads: names and sizes only
        shown = ", ".join(f"{name}={part[0]!r} ({len(part[1])} bytes)" for name, part in self.parts)
        return f"FileParts({shown})"
