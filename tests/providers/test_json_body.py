"""Request bodies are encoded when the request is built: the bytes httpx2 would send, or a
PayloadError that names the field that is not JSON (and never shows its value)."""

from __future__ import annotations

import datetime
import decimal
import json
import math
from types import MappingProxyType
from typing import Any

import httpx2
import pytest

from callboard.providers import PayloadError, build_request, get_provider
from callboard.providers._json_body import encode_json_body

KEY = "sk-live-SECRET-0123456789"
HI = [{"role": "user", "content": "héllo ☃"}]


class _Leaky:
    """A value whose repr carries a secret: it must not reach the error."""

    def __repr__(self) -> str:
        return KEY


@pytest.mark.parametrize(
    "body",
    [
        {"model": "gpt-4o", "messages": HI},
        {"input": ["a", "b"], "dimensions": 3, "ratio": 0.5, "flag": True, "none": None},
        {"nested": {"deep": [[1, 2], {"k": (1, 2)}]}, "unicode": "日本語 \u2028"},
        {1: "an int key", 2.5: "a float key", None: "a None key"},
    ],
)
def test_the_bytes_are_what_httpx2_json_would_send(body: dict[Any, Any]) -> None:
    sent = httpx2.Request("POST", "http://127.0.0.1/", json=body).content
    assert encode_json_body(body) == sent
    assert json.loads(sent) == json.loads(encode_json_body(body))


@pytest.mark.parametrize(
    ("body", "field", "why"),
    [
        ({"metadata": object()}, "metadata", "a value of type object"),
        ({"messages": [{"role": "user", "content": {1, 2}}]}, "messages[0].content", "set"),
        ({"temperature": math.nan}, "temperature", "nan is not a JSON number"),
        ({"top_p": -math.inf}, "top_p", "-inf is not a JSON number"),
        ({"at": datetime.date(2026, 1, 1)}, "at", "a value of type date"),
        ({"price": decimal.Decimal("1.5")}, "price", "a value of type Decimal"),
        ({"blob": b"bytes"}, "blob", "a value of type bytes"),
        ({"opts": MappingProxyType({"a": 1})}, "opts", "(use a dict)"),
        ({"tools": [{"fn": {(1, 2): "x"}}]}, "tools[0].fn", "a key of type tuple"),
        ({"text": "bad \ud800 surrogate"}, "text", "lone surrogate"),
        ({"meta": {"client": _Leaky()}}, "meta.client", "a value of type _Leaky"),
    ],
)
def test_a_value_that_is_not_json_is_named_by_its_path(
    body: dict[str, Any], field: str, why: str
) -> None:
    with pytest.raises(PayloadError) as caught:
        encode_json_body(body)
    assert caught.value.field == field
    message = str(caught.value)
    assert f"payload field {field!r} is not JSON" in message
    assert why in message
    assert "send only str, int, float, bool, None" in message
    assert KEY not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_body_that_contains_itself() -> None:
    loop: dict[str, Any] = {"a": 1}
    loop["self"] = {"again": [loop]}
    with pytest.raises(PayloadError, match="circular reference") as caught:
        encode_json_body({"metadata": loop})
    assert caught.value.field == "metadata.self.again[0]"


def test_a_shared_value_that_is_not_a_cycle_is_fine() -> None:
    shared = {"role": "user", "content": "hi"}
    assert encode_json_body({"messages": [shared, shared]}).count(b'"hi"') == 2


def test_a_body_nested_too_deeply() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(PayloadError, match="nested too deeply") as caught:
        encode_json_body({"deep": deep})
    assert caught.value.field is None


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_build_request_fails_before_anything_is_sent(provider: str) -> None:
    spec = get_provider(provider)
    payload = {"model": "m", "messages": HI, "metadata": {"user": object()}}
    with pytest.raises(PayloadError) as caught:
        build_request(spec, "chat", payload, api_key=KEY)
    assert caught.value.field == "metadata.user"
    assert KEY not in str(caught.value)
    good = build_request(spec, "chat", {"model": "m", "messages": HI}, api_key=KEY)
    assert good.json is not None
    assert good.content == encode_json_body(good.json)
    assert KEY not in repr(good)


def test_a_multipart_request_has_no_json_content() -> None:
    request = build_request(
        get_provider("openai"),
        "speech_to_text",
        {"model": "whisper-1", "file": ("a.wav", b"RIFF", "audio/wav")},
        api_key=KEY,
    )
    assert request.json is None
    assert request.content is None
    assert request.files is not None
