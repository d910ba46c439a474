"""Request defaults given as keywords: a field the provider documents passes, anything
else is refused, with a did-you-mean when it is close to an option or a field.

``iModel(provider="openai", limit_request=5)`` used to send ``"limit_request": 5`` in
every request body and apply no rate limit at all: the misspelled option vanished into
the request. Now a keyword that is not an option must be a request field the provider's
API documents (``request_fields``); a field it does not list is
sent on purpose through ``default_fields={...}``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from callboard.errors import ConfigError
from callboard.providers import ModelType, ProviderSpec
from callboard.providers._fields import request_fields

__all__ = ["check_request_fields", "did_you_mean"]

_ALIASES = {
    "max_retries": "retry=RetryPolicy(max_retries=...)",
    "retries": "retry=RetryPolicy(max_retries=...)",
    "api_base": "base_url",
    "base": "base_url",
    "url": "base_url",
    "rpm": "limit_requests",
    "tpm": "limit_tokens",
    "rate_limit": "limit_requests",
    "concurrency": "concurrency_limit",
    "max_concurrency": "concurrency_limit",
    "key": "api_key",
    "model_name": "model",
}
"""Names other libraries use for an option, and what callboard calls it."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate ``word`` is a small edit away from (a typo), if any.

    Example:
        >>> did_you_mean("limit_request", ["limit_requests", "limit_tokens", "model"])
        'limit_requests'
    """
    if word in _ALIASES:
        return _ALIASES[word]
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.8)
    return found[0] if found else None


def check_request_fields(
    spec: ProviderSpec,
    model_type: ModelType,
    fields: Mapping[str, Any],
    *,
    options: Iterable[str],
    where: str,
) -> None:
    """Refuse every keyword of ``fields`` that is not a request field ``spec``'s API
    documents for ``model_type``.

    Args:
        spec: the provider.
        model_type: the kind of call (the fields differ per endpoint).
        fields: the keywords that were not options.
        options: the option names of the function taking them (for the did-you-mean).
        where: the function's name, for the message (``"iModel"``).

    Raises:
        ConfigError: a keyword is unknown (``field`` names it); the message suggests
            the option or field it is close to, or ``default_fields`` to send it anyway.
    """
    known = request_fields(spec, model_type)
    for name in fields:
        if name in known:
            continue
        option = did_you_mean(name, options)
        if option is not None:
            raise ConfigError(
                f"{where}() got an unknown keyword {name!r}: did you mean {option}? (a "
                f"keyword that is neither an option nor a {spec.name} {model_type.value} "
                "request field would be sent in every request body)",
                field=name,
            )
        field = did_you_mean(name, known)
        hint = f"did you mean the request field {field!r}? Or, t" if field else "T"
        raise ConfigError(
            f"{where}() got an unknown keyword {name!r}: it is neither an option nor a "
            f"request field {spec.name}'s {model_type.value} API documents. {hint}o send "
            f"it in every request on purpose, pass default_fields={{{name!r}: ...}}",
            field=name,
        )
