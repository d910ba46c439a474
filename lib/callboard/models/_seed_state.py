"""A model's state in the msgflux shape, and reading it back.

``model.serialize()`` gives what msgflux users store::

    {"msgflux_type": "model", "provider": "openai", "model_type": "chat_completion",
     "state": {"model_id": "gpt-4o",
               "sampling_params": {"base_url": ...},            # where and how to call
               "sampling_run_params": {"temperature": 0.7, ...},  # request defaults
               "callboard": {"format": 1, "imodel": {...}}}}      # everything else

The ``callboard`` part is the versioned, lossless ``SerializedModel`` data (limits,
hooks' names, metadata, key variable), so a round trip loses nothing; state written by
msgflux itself (no ``callboard`` part) is rebuilt from the two parameter maps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import attrs

from callboard.endpoint import EndpointConfig
from callboard.errors import ConfigError

from ._kinds import kind_named
from ._serialized import FORMAT, TYPE_TAG

__all__ = ["SeedState", "read_seed_state", "seed_state"]

SEED_TAG = "model"
# Options that say where and how to reach the provider, not what to ask it.
_CONNECTION = frozenset(field.name for field in attrs.fields(EndpointConfig)) | {"api_key"}


@attrs.frozen
class SeedState:
    """A msgflux-shaped state, checked: what it names, and how to rebuild the model.

    ``lossless`` is the ``SerializedModel`` data when the state carries it, else
    ``None`` and the model is rebuilt from ``options`` (the two parameter maps merged).
    """

    provider: str
    model_type: str
    model_id: str
    options: dict[str, Any]
    lossless: dict[str, Any] | None


def seed_state(callboard_data: Mapping[str, Any]) -> dict[str, Any]:
    """The msgflux shape of a ``SerializedModel``'s data (``serialize_model``)."""
    imodel = cast(Mapping[str, Any], callboard_data["imodel"])
    backend = cast(Mapping[str, Any], imodel.get("backend") or {})
    options = dict(cast(Mapping[str, Any], backend.get("options") or {}))
    options.pop("model", None)
    sampling = {key: value for key, value in options.items() if key in _CONNECTION}
    if backend.get("api_key_env"):
        sampling["api_key"] = backend["api_key_env"]  # the variable's name, never a key
    run = {key: value for key, value in options.items() if key not in _CONNECTION}
    return {
        "msgflux_type": SEED_TAG,
        "provider": callboard_data["provider"],
        "model_type": callboard_data["model_type"],
        "state": {
            "model_id": callboard_data["model_id"],
            "sampling_params": sampling,
            "sampling_run_params": run,
            "callboard": {"format": callboard_data["format"], "imodel": dict(imodel)},
        },
    }


def _want(value: object, what: str, kind: type, field: str) -> Any:
    if not isinstance(value, kind):
        raise ConfigError(
            f"Model.from_serialized: {what} must be a {kind.__name__}, got {type(value).__name__}",
            field=field,
        )
    return value


def read_seed_state(
    *, msgflux_type: object, provider: object, model_type: object, state: object
) -> SeedState:
    """Check a msgflux-shaped state, naming the first part that is wrong.

    Raises:
        ConfigError: a part is missing or of the wrong type.
        UnknownModelType: ``model_type`` names no model type.
    """
    if msgflux_type is not None and msgflux_type != SEED_TAG:
        raise ConfigError(
            f"Model.from_serialized: msgflux_type is {msgflux_type!r}; a model's is 'model'",
            field="msgflux_type",
        )
    name = _want(provider, "provider", str, "provider")
    kind = kind_named(_want(model_type, "model_type", str, "model_type"))
    body = cast(Mapping[str, Any], _want(state, "state", Mapping, "state"))
    model_id = _want(body.get("model_id"), "state['model_id']", str, "model_id")
    options: dict[str, Any] = {}
    for part in ("sampling_params", "sampling_run_params"):
        found = body.get(part, {})
        options.update(cast(Mapping[str, Any], _want(found, f"state[{part!r}]", Mapping, part)))
    lossless = None
    extra = body.get("callboard")
    if extra is not None:
        ours = cast(Mapping[str, Any], _want(extra, "state['callboard']", Mapping, "callboard"))
        lossless = {
            "type": TYPE_TAG,
            "format": ours.get("format", FORMAT),
            "model_type": kind.name,
            "provider": name,
            "model_id": model_id,
            "imodel": ours.get("imodel"),
        }
    return SeedState(name, kind.name, model_id, options, lossless)
