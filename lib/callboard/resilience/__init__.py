"""Resilience: typed provider errors, retries with backoff, and circuit breaking.

Pure Trio and ``trio.current_time()``; nothing here opens a socket. The Endpoint actor
drives these with its HTTP client.
"""

from __future__ import annotations

from ._circuit import CircuitBreaker as CircuitBreaker
from ._circuit import CircuitPermit as CircuitPermit
from ._circuit import CircuitState as CircuitState
from ._circuit import CircuitTransition as CircuitTransition
from ._circuit import default_counts_as_failure as default_counts_as_failure
from ._classify import Revealable as Revealable
from ._classify import error_from_response as error_from_response
from ._classify import error_from_type as error_from_type
from ._classify import mask_secrets as mask_secrets
from ._classify import parse_retry_after as parse_retry_after
from ._errors import AuthenticationError as AuthenticationError
from ._errors import BadRequest as BadRequest
from ._errors import CircuitOpen as CircuitOpen
from ._errors import Conflict as Conflict
from ._errors import ConnectionFailed as ConnectionFailed
from ._errors import InvalidResponse as InvalidResponse
from ._errors import NotFound as NotFound
from ._errors import Overloaded as Overloaded
from ._errors import PermissionDenied as PermissionDenied
from ._errors import ProviderError as ProviderError
from ._errors import RateLimited as RateLimited
from ._errors import ServerError as ServerError
from ._errors import StreamInterrupted as StreamInterrupted
from ._errors import Timeout as Timeout
from ._retry import Attempt as Attempt
from ._retry import RetryBudget as RetryBudget
from ._retry import RetryPolicy as RetryPolicy
from ._retry import RetryScheduled as RetryScheduled

__all__ = [
    "Attempt",
    "AuthenticationError",
    "BadRequest",
    "CircuitBreaker",
    "CircuitOpen",
    "CircuitPermit",
    "CircuitState",
    "CircuitTransition",
    "Conflict",
    "ConnectionFailed",
    "InvalidResponse",
    "NotFound",
    "Overloaded",
    "PermissionDenied",
    "ProviderError",
    "RateLimited",
    "RetryBudget",
    "RetryPolicy",
    "RetryScheduled",
    "Revealable",
    "ServerError",
    "StreamInterrupted",
    "Timeout",
    "default_counts_as_failure",
    "error_from_response",
    "error_from_type",
    "mask_secrets",
    "parse_retry_after",
]
