"""How a backend that is code (a Tool) is written into a model's data and found again.

The imodel layer cannot know every backend: a folder below it registers a codec for its
own backend type (``callboard.tools`` does for [`Tool`][callboard.Tool]). ``to_dict`` then records
the backend as ``{"kind": ..., **what the codec wrote}``; ``from_dict`` hands that back
to the codec, which rebuilds the backend or raises ``NotRestorable`` saying how to
supply it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from callboard.calling import Backend

__all__ = ["BackendCodec", "codec_for", "codec_named", "register_backend_codec"]


@attrs.frozen
class BackendCodec:
    """Writes one backend type as JSON data (``dump``) and rebuilds it (``load``)."""

    kind: str
    backend_type: type
    dump: Callable[[Any], dict[str, Any]]
    load: Callable[[Mapping[str, Any]], Backend]


_BY_TYPE: dict[type, BackendCodec] = {}
_BY_KIND: dict[str, BackendCodec] = {}


def register_backend_codec(codec: BackendCodec) -> None:
    """Let models built on ``codec.backend_type`` serialize it (idempotent per kind)."""
    _BY_TYPE[codec.backend_type] = codec
    _BY_KIND[codec.kind] = codec


def codec_for(backend: object) -> BackendCodec | None:
    """The codec for ``backend``'s exact type, if one was registered."""
    return _BY_TYPE.get(type(backend))


def codec_named(kind: str) -> BackendCodec | None:
    """The codec registered as ``kind``."""
    return _BY_KIND.get(kind)
