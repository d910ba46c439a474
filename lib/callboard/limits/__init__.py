"""Admission control: token buckets, the limiter protocol, provider feedback, and the
adaptive limiter that learns a provider's real limit.

Pure Trio: every clock reading is ``trio.current_time()``, so everything here runs on
``trio.testing.MockClock``.
"""

from __future__ import annotations

from ._adaptive import AdaptiveLimiter as AdaptiveLimiter
from ._adaptive import LimitSnapshot as LimitSnapshot
from ._bucket import TokenBucket as TokenBucket
from ._charge import TokenCharge as TokenCharge
from ._charge import charged_tokens as charged_tokens
from ._controller import RateController as RateController
from ._errors import LimitsError as LimitsError
from ._errors import OversizeRequest as OversizeRequest
from ._headers import parse_anthropic_headers as parse_anthropic_headers
from ._headers import parse_go_duration as parse_go_duration
from ._headers import parse_openai_headers as parse_openai_headers
from ._headers import parse_retry_after as parse_retry_after
from ._policy import AdmissionPolicy as AdmissionPolicy
from ._protocol import Limiter as Limiter
from ._protocol import SharedRate as SharedRate
from ._redis import RedisLimiter as RedisLimiter
from ._redis_outage import RedisLimiterDown as RedisLimiterDown
from ._redis_outage import RedisLimiterRecovered as RedisLimiterRecovered
from ._redis_outage import RedisUnavailable as RedisUnavailable
from ._reservation import reconcile as reconcile
from ._reservation import release as release
from ._reservation import reserve as reserve
from ._reservation import try_reserve as try_reserve
from ._state import RateLimitState as RateLimitState

__all__ = [
    "AdaptiveLimiter",
    "AdmissionPolicy",
    "LimitSnapshot",
    "Limiter",
    "LimitsError",
    "OversizeRequest",
    "RateController",
    "RateLimitState",
    "RedisLimiter",
    "RedisLimiterDown",
    "RedisLimiterRecovered",
    "RedisUnavailable",
    "SharedRate",
    "TokenBucket",
    "TokenCharge",
    "charged_tokens",
    "parse_anthropic_headers",
    "parse_go_duration",
    "parse_openai_headers",
    "parse_retry_after",
    "reconcile",
    "release",
    "reserve",
    "try_reserve",
]
