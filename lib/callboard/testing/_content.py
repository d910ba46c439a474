"""Deterministic content: token estimates and replies derived from the request.

The fake provider never invents text: a chat reply is ``"echo <digest>: <last user text>"``
where ``<digest>`` is the first 8 hex digits of the SHA-256 of the request's model,
system prompt and messages (canonical JSON), cut to ``max_tokens`` words. One word is one
output token, and a stream sends one word per event, so a test can predict the reply,
its usage and the number of events exactly.

Prompt tokens are estimated like the providers' own pre-flight estimates:
``ceil(chars / 4)`` for text, 85 for a non-text part (image, audio, document), plus 4
per message and 3 per request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import struct
from collections.abc import Sequence

__all__ = [
    "NON_TEXT_PART_TOKENS",
    "digest",
    "embedding",
    "estimate_prompt_tokens",
    "estimate_tokens",
    "reply_words",
]

PER_MESSAGE_TOKENS = 4
PER_REQUEST_TOKENS = 3
NON_TEXT_PART_TOKENS = 85


def estimate_tokens(text: str) -> int:
    """``ceil(len(text) / 4)``: the documented estimate for one piece of text."""
    return math.ceil(len(text) / 4)


def content_text(content: object) -> tuple[str, int]:
    """The text of a message's content and the number of non-text parts in it.

    Accepts both providers' shapes: a string, or a list of parts/blocks where text parts
    are ``{"type": "text", "text": ...}``.
    """
    if isinstance(content, str):
        return content, 0
    texts: list[str] = []
    others = 0
    if isinstance(content, list):
        for part in content:  # pyright: ignore[reportUnknownVariableType]
            if isinstance(part, dict) and part.get("type") == "text":  # pyright: ignore[reportUnknownMemberType]
                text = part.get("text")  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
                texts.append(text if isinstance(text, str) else "")
            else:
                others += 1
    return "\n".join(texts), others


def estimate_prompt_tokens(system: str, contents: Sequence[object]) -> int:
    """Prompt tokens of a request with a system text and the messages' contents."""
    total = PER_REQUEST_TOKENS
    if system:
        total += PER_MESSAGE_TOKENS + estimate_tokens(system)
    for content in contents:
        text, others = content_text(content)
        total += PER_MESSAGE_TOKENS + estimate_tokens(text) + others * NON_TEXT_PART_TOKENS
    return total


def digest(*parts: object) -> str:
    """First 8 hex digits of the SHA-256 of the parts as canonical JSON."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:8]


def reply_words(tag: str, last_user_text: str, max_tokens: int) -> tuple[list[str], bool]:
    """The reply's words (one token each) and whether ``max_tokens`` cut it."""
    words = ["echo", f"{tag}:", *last_user_text.split()]
    return words[:max_tokens], len(words) > max_tokens


def embedding(text: str, dimensions: int) -> list[float]:
    """A unit vector that depends only on the text (same text, same vector)."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    rng = random.Random(seed)
    vector = [rng.gauss(0, 1) for _ in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def embedding_base64(vector: Sequence[float]) -> str:
    """The ``encoding_format="base64"`` form: little-endian float32, base64-encoded."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
