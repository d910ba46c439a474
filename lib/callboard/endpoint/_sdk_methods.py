"""Which official SDK the ``sdk`` transport drives, and which of its methods it calls.

A provider's wire dialect picks the SDK (``anthropic`` for Anthropic Messages, ``openai``
for every OpenAI-compatible API); a call's model type picks the method, named as the
SDK names it: an attribute path on the client (``"chat.completions.create"`` is
``client.chat.completions.create``). The table is one mapping each way, so lionfuncs'
``sdk_method_name`` and callboard's model type name the same operation. It is plain
data, importable without either SDK installed, so configs are checked when built.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from callboard.errors import ConfigError
from callboard.providers import Dialect, ModelType

__all__ = ["SDK_METHODS", "SDK_PACKAGES", "sdk_for_dialect", "sdk_method", "sdk_model_type"]

SDK_METHODS: Mapping[str, Mapping[str, ModelType]] = MappingProxyType(
    {
        "anthropic": MappingProxyType({"messages.create": ModelType.CHAT}),
        "openai": MappingProxyType(
            {
                "chat.completions.create": ModelType.CHAT,
                "embeddings.create": ModelType.EMBEDDINGS,
                "responses.create": ModelType.RESPONSES,
                "moderations.create": ModelType.MODERATION,
                "images.generate": ModelType.IMAGE_GENERATION,
            }
        ),
    }
)
"""SDK name → ``sdk_method_name`` → the model type it performs (JSON-bodied calls)."""

SDK_PACKAGES: Mapping[str, str] = MappingProxyType(
    {"anthropic": "AsyncAnthropic", "openai": "AsyncOpenAI"}
)
"""SDK name (its package) → the async client class the transport builds."""

_BY_DIALECT: Mapping[Dialect, str] = MappingProxyType(
    {Dialect.ANTHROPIC: "anthropic", Dialect.OPENAI: "openai"}
)


def sdk_for_dialect(dialect: Dialect | str | None) -> str | None:
    """The SDK that speaks ``dialect`` (``None``: no official SDK does).

    Example:
        >>> sdk_for_dialect("openai"), sdk_for_dialect("replicate")
        ('openai', None)
    """
    try:
        return _BY_DIALECT.get(Dialect(dialect)) if dialect is not None else None
    except ValueError:
        return None


def _known(sdk: str) -> str:
    return ", ".join(SDK_METHODS.get(sdk, {})) or "none"


def sdk_model_type(sdk: str, method_name: str) -> ModelType:
    """The model type ``method_name`` performs on ``sdk``.

    Raises:
        ConfigError: an SDK or a method the transport does not send; the message names
            it and lists the valid ones.

    Example:
        >>> sdk_model_type("openai", "embeddings.create")
        <ModelType.EMBEDDINGS: 'embeddings'>
    """
    methods = SDK_METHODS.get(sdk)
    if methods is None:
        raise ConfigError(
            f"no SDK named {sdk!r} is driven by the sdk transport; "
            f"sdk_provider_name is one of {', '.join(SDK_METHODS)}",
            field="sdk_provider_name",
        )
    kind = methods.get(method_name)
    if kind is None:
        raise ConfigError(
            f"sdk_method_name {method_name!r} is not one the sdk transport calls on the "
            f"{sdk} SDK; valid: {_known(sdk)} (or use transport_type='http' with http_path)",
            field="sdk_method_name",
        )
    return kind


def sdk_method(sdk: str, model_type: ModelType | str) -> str:
    """The SDK method that performs ``model_type`` on ``sdk``.

    Raises:
        ConfigError: the SDK has no such method here (the message lists the valid ones).

    Example:
        >>> sdk_method("anthropic", "chat")
        'messages.create'
    """
    methods = SDK_METHODS.get(sdk, {})
    for name, kind in methods.items():
        if kind == model_type:
            return name
    valid = ", ".join(f"{name} ({kind})" for name, kind in methods.items()) or "none"
    raise ConfigError(
        f"the sdk transport calls no {sdk} SDK method for {model_type!s} calls; valid: "
        f"{valid}; use transport='http'",
        field="transport",
    )
