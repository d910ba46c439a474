"""Errors of the Endpoint: a config with bad fields, an actor that is not there, and the
two it raises to itself (a 429 on its way to requeue, a run that ended)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from callboard.errors import ConfigError
from callboard.resilience import ConnectionFailed, RateLimited

__all__ = ["EndpointRestarted", "InvalidEndpointConfig", "RateRefused", "Stopped"]


class InvalidEndpointConfig(ConfigError):
    """An EndpointConfig had bad fields; ``problems`` maps every one of them to why.

    One error for all of them, so a config file is fixed in one pass, not one field per
    run. ``field`` is the bad field when there is exactly one, else ``None``.

    Args:
        problems: field name → what is wrong with it and how to fix it (never a secret).
    """

    def __init__(self, problems: Mapping[str, str]) -> None:
        self.problems: Mapping[str, str] = MappingProxyType(dict(problems))
        lines = "; ".join(f"{field}: {why}" for field, why in self.problems.items())
        count = len(self.problems)
        super().__init__(
            f"invalid endpoint config ({count} problem{'s' if count != 1 else ''}): {lines}",
            field=next(iter(self.problems)) if count == 1 else None,
        )


class EndpointRestarted(ConnectionFailed):
    """The Endpoint actor crashed (or stopped) while this attempt was using its client.

    Retryable: the next attempt uses the client of the restarted actor. The crash's
    cause is this error's ``__cause__``.
    """


class RateRefused(Exception):
    """Carries a 429 past the retry policy (which retries only ProviderErrors) to the
    Executor's requeue."""

    def __init__(self, error: RateLimited) -> None:
        super().__init__(error.message)
        self.error = error


class Stopped(Exception):
    """The run ended while an attempt used its client (stop or cancellation)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"endpoint {name!r} stopped")
