"""RetryConfig: lionpride's spelling of a [`RetryPolicy`][callboard.RetryPolicy]."""

from __future__ import annotations

from ._retry import RetryPolicy

__all__ = ["RetryConfig"]


def RetryConfig(  # named as lionpride users know it; it builds a RetryPolicy
    *,
    max_retries: int = 3,
    initial_delay: float = 1.0,
    max_delay: float = 60.0,
    exponential_base: float = 2.0,
    jitter: bool = True,
) -> RetryPolicy:
    """A ``RetryPolicy`` from lionpride's ``RetryConfig`` fields (and its defaults).

    The meaning is the same: ``initial_delay`` is the backoff before the first retry
    (``base_delay``), ``exponential_base`` its growth per retry (``multiplier``),
    ``jitter=True`` draws each delay at random below the backoff (``"full"``).

    Raises:
        ConfigError: a value is out of range (the error names callboard's field).

    Example:
        >>> RetryConfig(max_retries=3, initial_delay=1.0, exponential_base=2.0).base_delay
        1.0
    """
    return RetryPolicy(
        max_retries=max_retries,
        base_delay=initial_delay,
        max_delay=max_delay,
        multiplier=exponential_base,
        jitter="full" if jitter else "none",
    )
