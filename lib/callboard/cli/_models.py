"""The models the CLI calls: which provider, which key, which transport.

One place decides how a provider name, a model name, a base URL and a key become
``iModel`` instances, so ``bench`` and ``call`` fail the same way on the same mistakes
(unknown provider, missing key) with one clear line.
"""

from __future__ import annotations

import os
from typing import Any

import attrs

from callboard.endpoint import Secret
from callboard.errors import ConfigError
from callboard.imodel import iModel
from callboard.limits import AdmissionPolicy
from callboard.providers import ModelType, ProviderSpec, get_provider
from callboard.resilience import RetryPolicy

from ._errors import CliError

__all__ = ["Target", "build_models", "resolve_target"]

DEFAULT_MODELS = {"anthropic": "claude-haiku-4-5"}
"""Model used when ``--model`` is not given (``gpt-4o-mini`` for every other provider)."""


@attrs.frozen
class Target:
    """A resolved provider: its spec (base URL applied), the model, and the key.

    The key is kept out of repr; it only ever goes into an auth header.
    """

    spec: ProviderSpec
    model: str
    api_key: str | None = attrs.field(repr=False)


def resolve_target(
    provider: str, *, model: str | None, base_url: str | None, api_key: str | None = None
) -> Target:
    """Find the provider and its key (``api_key``, else the provider's environment
    variable).

    Raises:
        CliError: unknown provider, a bad base URL, or no key where one is needed.
    """
    try:
        spec = get_provider(provider, base_url=base_url)
    except ConfigError as error:
        raise CliError(str(error), exit_code=2) from None
    key = api_key
    if key is None and spec.api_key_env is not None:
        key = os.environ.get(spec.api_key_env) or None
    if key is None and spec.api_key_required:
        where = spec.api_key_env or "an environment variable"
        raise CliError(f"provider {spec.name!r} needs an API key: set {where}", exit_code=2)
    if not spec.offers(ModelType.CHAT):
        raise CliError(f"provider {spec.name!r} has no chat endpoint", exit_code=2)
    return Target(spec, model or DEFAULT_MODELS.get(spec.name, "gpt-4o-mini"), key)


def build_models(
    target: Target,
    *,
    count: int,
    retry: RetryPolicy,
    limit_requests: int | None = None,
    limit_tokens: int | None = None,
    queue_capacity: int = 100,
    max_connections: int | None = None,
    timeout: float | None = 60.0,
    admission_policy: AdmissionPolicy | None = None,
) -> list[iModel]:
    """``count`` models on ``target``, each with its own Endpoint actor (and pooled
    client), sharing one request bucket and one token bucket (the first model's Executor
    holds them), the way the key they share is limited by the provider.

    Start them (``async with model`` or a ServiceRegistry) before calling: the Endpoint
    opens its client when its actor starts.

    Args:
        target: the provider, model and key.
        count: how many models.
        retry: every Endpoint's retry policy.
        limit_requests: requests per minute for all the models together.
        limit_tokens: tokens per minute for all the models together.
        queue_capacity: each model's Executor queue.
        max_connections: each Endpoint's connection pool size.
        timeout: seconds for one HTTP attempt (``None``: no limit).
        admission_policy: pacing and learning of the shared limits (the default
            paces them smoothly).
    """
    endpoint_options: dict[str, Any] = {
        "base_url": target.spec.base_url,
        "model": target.model,
        "retry": retry,
        "timeout": timeout,
        "max_connections": max_connections,
    }
    if target.api_key is not None:
        endpoint_options["api_key"] = Secret(target.api_key)
    models: list[iModel] = []
    for index in range(count):
        options: dict[str, Any] = {"name": f"{target.spec.name}-{index}"}
        if admission_policy is not None:
            options["admission_policy"] = admission_policy
        if index == 0:
            options.update(limit_requests=limit_requests, limit_tokens=limit_tokens)
        else:
            options["executor"] = models[0].executor
        model = iModel(
            provider=target.spec.name,
            endpoint="chat",
            queue_capacity=queue_capacity,
            **options,
            **endpoint_options,
        )
        models.append(model)
    return models
