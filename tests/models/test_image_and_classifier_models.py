"""The four model types added for the msgflux page, end to end against the fake provider:
image edits (a multipart upload, or a Replicate prediction), text and image classifiers
and image embeddings (Jina AI's documented shapes), and a stream's ``consume()``."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest
import trio

from callboard.endpoint import TransportSettings, open_transport
from callboard.models import (
    Classification,
    ImageClassifier,
    ImageEmbedder,
    ImageTextToImage,
    Model,
    ModelTypeNotOffered,
    TextClassifier,
)
from callboard.providers import build_request, get_provider
from callboard.providers._file_parts import FileParts
from callboard.resilience import BadRequest
from callboard.testing import FakeProvider

KEY = "test-key"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3  # every byte value crosses the wire


@pytest.fixture
async def fp() -> AsyncIterator[FakeProvider]:
    async with FakeProvider(keys=[KEY]) as provider:
        yield provider


def where(fp: FakeProvider) -> dict[str, str]:
    return {"base_url": f"{fp.base_url}/v1", "api_key": KEY}


async def test_image_edit_uploads_the_image_as_multipart(fp: FakeProvider, tmp_path: Path) -> None:
    editor = Model.image_text_to_image("openai/gpt-image-1", **where(fp))
    assert isinstance(editor, ImageTextToImage)
    assert editor.response_type == "image_generation"
    picture = tmp_path / "cat.png"
    picture.write_bytes(PNG)
    response = await editor(trio.Path(picture), "give the cat a hat", mask=PNG)
    url = response.consume()
    # The fake's edit returns the upload it received: the multipart body was intact.
    assert url == "data:image/png;base64," + base64.b64encode(PNG).decode()
    request = fp.requests[-1]
    assert request.path == "/v1/images/edits"
    assert (request.header("content-type") or "").startswith("multipart/form-data; boundary=")
    assert b'name="prompt"\r\n\r\ngive the cat a hat' in request.body
    assert b'name="image"; filename="cat.png"\r\ncontent-type: image/png' in request.body
    assert b'name="mask"; filename="mask.png"' in request.body
    two = (await editor.acall(("in.png", PNG), "again", n=2)).consume()
    assert isinstance(two, list) and len(two) == 2


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


@pytest.mark.parametrize("transport", ["http", "httpx"])
async def test_image_edit_of_several_images_sends_image_array_parts(
    fp: FakeProvider, tmp_path: Path, transport: str
) -> None:
    editor = Model.image_text_to_image("openai/gpt-image-1", transport=transport, **where(fp))
    picture = tmp_path / "dog.png"
    picture.write_bytes(PNG + b"third")
    sent = [PNG + b"first", PNG + b"second", PNG + b"third"]
    response = await editor([sent[0], ("b.png", sent[1]), trio.Path(picture)], "merge them")
    # the fake answers with the first image it received
    assert response.consume() == "data:image/png;base64," + base64.b64encode(sent[0]).decode()
    body = fp.requests[-1].body
    assert body.count(b'name="image[]"') == 3 and b'name="image";' not in body
    for name, content in zip((b"image-1.png", b"b.png", b"dog.png"), sent, strict=True):
        head = b'name="image[]"; filename="' + name + b'"\r\ncontent-type: image/png\r\n\r\n'
        part = re.escape(head) + re.escape(content) + b"\r\n"  # httpx2 capitalises names
        assert re.search(part, body, re.IGNORECASE)  # each image crossed byte for byte


@pytest.mark.parametrize(
    ("images", "field"),
    [([PNG], "image"), ([PNG + b"1", PNG + b"2"], "image[]"), ([PNG + b"only"], "image[]")],
)
async def test_the_fake_edits_route_takes_image_and_image_array(
    fp: FakeProvider, images: list[bytes], field: str
) -> None:
    spec = attrs.evolve(get_provider("openai"), base_url=f"{fp.base_url}/v1")
    files = [(field, (f"{i}.png", image, "image/png")) for i, image in enumerate(images)]
    request = attrs.evolve(
        build_request(spec, "image_edit", {"image": ("x.png", PNG), "prompt": "p"}, api_key=KEY),
        data={"prompt": "p", "model": "gpt-image-1"},
        files=FileParts(files),
    )
    async with open_transport("http", TransportSettings(timeout=10.0)) as http:
        answer = await http.send(request)
    assert answer.status == 200
    assert answer.headers["x-fake-image-field"] == field
    assert answer.headers["x-fake-image-digests"] == ",".join(map(digest, images))
    reply = json.loads(answer.body)
    assert base64.b64decode(reply["data"][0]["b64_json"]) == images[0]


async def test_dall_e_2_edits_one_image_only(fp: FakeProvider) -> None:
    editor = Model.image_text_to_image("openai/dall-e-2", **where(fp))
    with pytest.raises(BadRequest, match="at most 1, got 2"):
        await editor([PNG, PNG], "two")
    assert (await editor([PNG], "one")).consume()  # a list of one is fine


async def test_image_edit_of_a_non_png_is_the_providers_400(fp: FakeProvider) -> None:
    editor = Model.image_text_to_image("imagerouter/openai/gpt-image-1", **where(fp))
    with pytest.raises(BadRequest, match="valid PNG"):
        await editor(b"GIF89a not a png", "edit")
    assert fp.requests[-1].path == "/v1/images/edits"


async def test_image_edit_on_replicate_is_one_prediction(fp: FakeProvider) -> None:
    editor = Model.image_text_to_image("replicate/black-forest-labs/flux-kontext-pro", **where(fp))
    response = await editor(("in.png", PNG), "make it night")
    [request] = fp.requests
    assert request.path == "/v1/predictions" and request.header("prefer") == "wait"
    body = json.loads(request.body)
    assert body["version"] == "black-forest-labs/flux-kontext-pro"
    assert body["input"]["prompt"] == "make it night"
    assert body["input"]["image"] == "data:image/png;base64," + base64.b64encode(PNG).decode()
    url = response.consume()
    assert isinstance(url, str) and url.startswith("https://replicate.delivery/fake/")


async def test_image_edit_of_several_images_on_replicate_sends_a_list_of_uris(
    fp: FakeProvider,
) -> None:
    editor = Model.image_text_to_image("replicate/black-forest-labs/flux-kontext-pro", **where(fp))
    await editor([("a.png", PNG), ("b.png", PNG + b"2")], "blend")
    images = json.loads(fp.requests[-1].body)["input"]["image"]
    expected = [base64.b64encode(data).decode() for data in (PNG, PNG + b"2")]
    assert images == [f"data:image/png;base64,{e}" for e in expected]


async def test_text_to_image_on_replicate_reads_the_output_files(fp: FakeProvider) -> None:
    painter = Model.text_to_image("replicate/black-forest-labs/flux-schnell", **where(fp))
    urls = (await painter("a fox", num_outputs=3)).consume()
    assert isinstance(urls, list) and len(urls) == 3
    assert urls == sorted(set(urls))  # three files, named by digest and index


async def test_text_classifier_takes_labels_from_the_factory(fp: FakeProvider) -> None:
    classifier = Model.text_classifier(
        "jinaai/jina-embeddings-v3", labels=["sports news", "cooking recipe"], **where(fp)
    )
    assert isinstance(classifier, TextClassifier)
    response = await classifier("a recipe for soup")
    assert response.response_type == "text_classification"
    result = response.consume()
    assert isinstance(result, Classification)
    assert result.label == "cooking recipe"
    assert result.score == max(result.scores.values())
    assert math.isclose(sum(result.scores.values()), 1.0, abs_tol=1e-5)
    body = fp.requests[-1].json()
    assert fp.requests[-1].path == "/v1/classify"
    assert body == {
        "labels": ["sports news", "cooking recipe"],
        "model": "jina-embeddings-v3",
        "input": ["a recipe for soup"],
    }
    both = (await classifier.acall(["sports news today", "soup recipe"])).consume()
    assert [r.label for r in both] == ["sports news", "cooking recipe"]
    per_call = (await classifier.acall("hello", labels=["greeting hello", "x"])).consume()
    assert per_call.label == "greeting hello"


async def test_image_classifier_sends_images_as_jina_documents_them(fp: FakeProvider) -> None:
    classifier = Model.image_classifier("jinaai/jina-clip-v2", labels=["cat", "dog"], **where(fp))
    assert isinstance(classifier, ImageClassifier)
    response = await classifier(PNG)
    assert response.response_type == "image_classification"
    assert response.consume().label in ("cat", "dog")
    body = fp.requests[-1].json()
    assert body["input"] == [{"image": base64.b64encode(PNG).decode()}]
    urls = ["https://example.com/a.png", "https://example.com/b.png"]
    results = (await classifier.acall(urls)).consume()
    assert len(results) == 2
    assert fp.requests[-1].json()["input"] == [{"image": url} for url in urls]


async def test_image_embedder_one_image_one_vector(fp: FakeProvider) -> None:
    embedder = Model.image_embedder("jinaai/jina-clip-v2", dimensions=16, **where(fp))
    assert isinstance(embedder, ImageEmbedder)
    response = await embedder("https://example.com/cat.png")
    assert response.response_type == "image_embedding"
    vector = response.consume()
    assert len(vector) == 16 and math.isclose(sum(v * v for v in vector), 1.0)
    several = (await embedder.acall(["https://example.com/cat.png", PNG])).consume()
    assert several[0] == pytest.approx(vector) and several[1] != pytest.approx(vector)
    assert fp.requests[-1].json()["input"][1] == {"image": base64.b64encode(PNG).decode()}


def test_the_new_types_name_who_offers_them() -> None:
    with pytest.raises(ModelTypeNotOffered, match="Providers offering image_embedder: jinaai"):
        Model.image_embedder("openai/text-embedding-3-small", api_key="OPENAI_API_KEY")


async def test_a_streams_consume_is_iterated_for_chunks_or_awaited_for_text(
    fp: FakeProvider,
) -> None:
    model = Model.chat_completion("openai/gpt-4o", **where(fp))
    response = await model(messages=[{"role": "user", "content": "Count to 5"}], stream=True)
    chunks = [chunk async for chunk in response.consume()]
    assert len(chunks) > 1 and "Count to 5" in "".join(chunks)
    assert await response.consume() == "".join(chunks)  # the rest: nothing more
    again = await model("one two", stream=True)
    assert "one two" in await again.consume()
