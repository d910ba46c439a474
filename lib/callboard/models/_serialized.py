"""A factory model as data: what ``serialize`` writes and ``from_serialized`` reads.

The model's iModel already serializes itself (limits, metadata, endpoint options, the
API key's environment variable name; never a key) through the project's one cattrs
converter; this adds what the factory needs on top (the model type, and the provider
and model id for a reader of the JSON) and checks the parts agree when loading.
Everything is plain JSON, so a model survives ``json.dumps`` / ``json.loads``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import attrs

from callboard.errors import ConfigError
from callboard.imodel import iModel
from callboard.serialization import converter, structure

from ._kinds import Kind, kind_named

__all__ = ["FORMAT", "SerializedModel", "load_model", "serialize_model"]

FORMAT = 1
TYPE_TAG = "callboard.model"


@attrs.frozen(kw_only=True)
class SerializedModel:
    """The serialized form of a factory model.

    Attributes:
        type: always ``"callboard.model"`` (tells this data from other configs).
        format: the layout's version.
        model_type: the factory name (``"chat_completion"``, ...).
        provider: the provider's name.
        model_id: the model's name at the provider.
        imodel: the model's ``to_dict()`` data.
    """

    type: str = TYPE_TAG
    format: int = FORMAT
    model_type: str
    provider: str
    model_id: str
    imodel: dict[str, Any]


def serialize_model(
    model_type: str, provider: str, model_id: str, imodel: iModel
) -> dict[str, Any]:
    """``ProviderModel.serialize``."""
    data = SerializedModel(
        model_type=model_type, provider=provider, model_id=model_id, imodel=imodel.to_dict()
    )
    unstructured: dict[str, Any] = converter.unstructure(data)
    return unstructured


def load_model(data: Mapping[str, Any]) -> tuple[Kind, dict[str, Any]]:
    """Check serialized data and return its kind and its iModel data.

    Raises:
        ConfigError: not a serialized model, an unsupported format, or parts that
            disagree (every structural problem listed).
        UnknownModelType: the model type is not one the factory builds.
    """
    if not isinstance(data, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigError(
            f"Model.from_serialized takes the dict serialize() returned, got {type(data).__name__}",
            field="data",
        )
    record = structure(data, SerializedModel, "a serialized callboard model")
    if record.type != TYPE_TAG:
        raise ConfigError(
            f"not a serialized callboard model: type is {record.type!r}, expected {TYPE_TAG!r}",
            field="type",
        )
    if record.format != FORMAT:
        raise ConfigError(
            f"serialized model format {record.format} is not supported (expected {FORMAT})",
            field="format",
        )
    kind = kind_named(record.model_type)
    backend = _mapping(record.imodel.get("backend"))
    stored: dict[str, object] = {
        "provider": backend.get("provider"),
        "endpoint": backend.get("endpoint"),
        "model_id": _mapping(backend.get("options")).get("model"),
    }
    expected: dict[str, object] = {
        "provider": record.provider,
        "endpoint": kind.model_type.value,
        "model_id": record.model_id,
    }
    for field, value in expected.items():
        if stored[field] != value:
            raise ConfigError(
                f"serialized model is inconsistent: {field} is {value!r} but the iModel "
                f"data says {stored[field]!r}",
                field=field,
            )
    return kind, record.imodel


def _mapping(value: object) -> Mapping[str, object]:
    return cast(Mapping[str, object], value) if isinstance(value, Mapping) else {}
