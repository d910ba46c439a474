"""Where an API key comes from: one rule for every ``api_key=`` callboard takes.

``iModel``, ``match_endpoint``, ``EndpointConfig`` and the ``Model`` factories all read
their key options through ``key_source``, so a value means the same thing
everywhere. Two forms say what they are:

- ``api_key=Secret("sk-...")``: the key itself;
- ``api_key_env="MY_KEY"``: the name of the environment variable holding it.

A bare string is still taken, and read by its look: capitals, digits and underscores
(``OPENAI_API_KEY``) name a variable, anything else (``"sk-live-..."``) is the key,
wrapped in a [`Secret`][callboard.Secret] at once so it never shows. When that reading turns out
wrong the error says how the string was read and which explicit form to use.
"""

from __future__ import annotations

import re

from callboard.errors import ConfigError

from ._secret import Secret

__all__ = ["ENV_NAME", "KeySource", "key_source", "missing_key_hint"]

ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*\Z")
"""What a bare ``api_key`` string looks like when it names an environment variable."""

_BAD_NAME = re.compile(r"[\s=\x00]")

KeySource = str | Secret | None
"""An environment variable's name (``str``), the key itself (``Secret``), or neither."""


def key_source(api_key: object, api_key_env: object = None, *, field: str = "api_key") -> KeySource:
    """Read ``api_key`` / ``api_key_env`` by the one rule above.

    Returns:
        The variable's name, the key as a [`Secret`][callboard.Secret], or ``None`` (neither given:
        the provider's conventional variable is used).

    Raises:
        ConfigError: both were given; a key or name is empty; ``api_key`` is not a
            string or Secret; ``api_key_env`` is not a usable variable name.

    Example:
        >>> key_source("OPENAI_API_KEY"), key_source("sk-live-123"), key_source(None, "MY_KEY")
        ('OPENAI_API_KEY', Secret('***'), 'MY_KEY')
    """
    if api_key_env is not None:
        if api_key is not None:
            raise ConfigError(
                f"give {field} (the key, or a variable's name) or api_key_env (a variable's "
                "name), not both",
                field="api_key_env",
            )
        if not isinstance(api_key_env, str) or not api_key_env or _BAD_NAME.search(api_key_env):
            raise ConfigError(
                "api_key_env must be the name of an environment variable, e.g. "
                "'OPENAI_API_KEY' (non-empty, no spaces or '='); to pass the key itself "
                f"use {field}=Secret(key)",
                field="api_key_env",
            )
        return api_key_env
    if api_key is None:
        return None
    if isinstance(api_key, Secret):
        if not api_key:
            raise ConfigError(f"{field} is an empty Secret; pass the key itself", field=field)
        return api_key
    if not isinstance(api_key, str):
        raise ConfigError(
            f"{field} must be the key as Secret(key), a variable's name as a string (or "
            f"api_key_env='NAME'), or None; got {type(api_key).__name__}",
            field=field,
        )
    if not api_key.strip():
        raise ConfigError(
            f"{field} is an empty string; pass the key as {field}=Secret(key), name its "
            "variable with api_key_env='NAME', or leave it out to use the provider's "
            "variable (OPENAI_API_KEY, ...)",
            field=field,
        )
    if ENV_NAME.match(api_key):
        return api_key
    return Secret(api_key)


def missing_key_hint(source: KeySource, *, explicit: bool, provider_env: str | None) -> str:
    """What to do when no key was found: the end of a MissingApiKey message.

    Args:
        source: what ``api_key`` / ``api_key_env`` resolved to.
        explicit: ``source`` came from ``api_key_env`` (so it is a name for sure).
        provider_env: the provider's conventional variable.
    """
    if isinstance(source, str):
        if explicit:
            return f"; set the {source} environment variable (named by api_key_env)"
        # Quoted only when it reads as a name (has an underscore): a bare capitals-and-
        # digits string may well be a key someone passed as a plain string.
        shown = f" {source}" if "_" in source else ""
        return (
            f"; api_key was a bare string of capitals, digits and underscores, so it was "
            f"read as the name of an environment variable, and no variable{shown} is set: "
            "set it, or say what the string is: api_key_env='NAME' for a variable, "
            "api_key=Secret(key) for the key itself"
        )
    if provider_env:
        return f"; set the {provider_env} environment variable or pass api_key=Secret(...)"
    return "; pass api_key=Secret(...) or api_key_env='NAME'"
