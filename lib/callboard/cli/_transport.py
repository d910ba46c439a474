"""A plain HTTP backend for the CLI, used when no Endpoint actor is installed.

``callboard bench`` and ``callboard call`` prefer ``callboard.providers.match_endpoint``
(the supervised Endpoint actor). Until that exists in this installation they still make
real HTTP calls through this backend: one pooled httpx2 client, the provider specs'
request builders and response parsers, every response's rate-limit headers fed back to
the model's Executor, ``RetryPolicy`` with every retry passing the model's request
limiter again, and a :class:`HttpRetryScheduled` event per retry so the bench can count
retries and 429s from the event bus like everything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import httpx2

from callboard.actors import Broadcast, LifecycleEvent
from callboard.limits import (
    Limiter,
    RateLimitState,
    parse_anthropic_headers,
    parse_openai_headers,
)
from callboard.providers import (
    ModelType,
    ProviderRequest,
    ProviderSpec,
    RateLimitDialect,
    build_request,
    parse_response,
    stream_decoder,
)
from callboard.resilience import (
    Attempt,
    ConnectionFailed,
    ProviderError,
    RetryBudget,
    RetryPolicy,
    RetryScheduled,
    Timeout,
)
from callboard.services import Calling, Executor, NormalizedResponse

__all__ = ["HttpBackend", "HttpRetryScheduled"]


@attrs.frozen(kw_only=True)
class HttpRetryScheduled(LifecycleEvent):
    """A request failed and will be retried after ``delay`` seconds."""

    calling_id: str
    attempt: int
    delay: float
    status: int | None
    error: str


class HttpBackend:
    """Sends each Calling's payload to one provider over a shared httpx2 client.

    Args:
        client: the pooled client (its lifetime belongs to the caller).
        spec: the provider.
        model_type: what kind of call (chat for the CLI).
        api_key: sent in the auth header only.
        defaults: request fields added to every payload (``model``).
        retry: the retry policy.
    """

    def __init__(
        self,
        client: httpx2.AsyncClient,
        spec: ProviderSpec,
        *,
        model_type: ModelType = ModelType.CHAT,
        api_key: str | None,
        defaults: Mapping[str, Any],
        retry: RetryPolicy,
    ) -> None:
        self.client = client
        self.spec = spec
        self.model_type = model_type
        self._api_key = api_key
        self.defaults = dict(defaults)
        self.retry = retry
        self.broadcast: Broadcast[LifecycleEvent] | None = None
        """Where retries are announced (the model's)."""
        self.limiter: Limiter | None = None
        """The request limiter each retry passes again."""
        self.executor: Executor | None = None
        """Told the provider's rate-limit headers after every response."""
        self.name = f"{spec.name}_http"

    def __repr__(self) -> str:
        return f"<HttpBackend {self.spec.name} {self.spec.base_url}>"

    async def execute(self, calling: Calling) -> NormalizedResponse:
        """Send the request (retrying per the policy) and return the normalized answer."""
        payload = {**self.defaults, **calling.payload}
        budget = RetryBudget.for_calling(calling.id, self.retry.max_retries + 1)

        async def before(attempt: Attempt) -> None:
            if attempt.number > 1 and self.limiter is not None:
                await self.limiter.acquire(1)  # a retry is another request

        async def attempt(attempt: Attempt) -> NormalizedResponse:
            request = build_request(
                self.spec,
                self.model_type,
                payload,
                api_key=self._api_key,
                stream=calling.streaming,
                idempotency_key=attempt.idempotency_key,
            )
            return await self._send(calling, request)

        def announce(retry: RetryScheduled) -> None:
            if self.broadcast is not None and not self.broadcast.closed:
                self.broadcast.publish(
                    HttpRetryScheduled(
                        calling_id=calling.id,
                        attempt=retry.attempt,
                        delay=retry.delay,
                        status=retry.error.status,
                        error=type(retry.error).__name__,
                    )
                )

        response = await self.retry.run(
            attempt, budget=budget, before_attempt=before, on_retry=announce
        )
        if response.usage is not None:
            calling.actual_tokens = response.usage.total_tokens
        return response

    async def _send(self, calling: Calling, request: ProviderRequest) -> NormalizedResponse:
        try:
            if request.stream:
                return await self._stream(calling, request)
            reply = await self.client.request(
                request.method, request.url, headers=request.all_headers(), json=request.json
            )
            self._observe(reply.headers)
        except httpx2.TimeoutException:
            raise Timeout(
                f"{self.spec.name} did not answer in time", provider=self.spec.name
            ) from None
        except httpx2.TransportError as error:
            raise ConnectionFailed(
                f"cannot reach {self.spec.name} at {self.spec.base_url}: {type(error).__name__}",
                provider=self.spec.name,
            ) from None
        return parse_response(
            self.spec,
            self.model_type,
            status=reply.status_code,
            headers=reply.headers,
            body=reply.content,
            calling_id=calling.id,
            secret=self._api_key,
        )

    def _observe(self, headers: Mapping[str, str]) -> None:
        if self.executor is None:
            return
        dialect = self.spec.rate_limit_dialect
        state: RateLimitState
        if dialect is RateLimitDialect.ANTHROPIC:
            state = parse_anthropic_headers(headers)
        else:
            state = parse_openai_headers(headers)
        self.executor.observe(state)

    async def _stream(self, calling: Calling, request: ProviderRequest) -> NormalizedResponse:
        async with self.client.stream(
            request.method, request.url, headers=request.all_headers(), json=request.json
        ) as reply:
            self._observe(reply.headers)
            if not 200 <= reply.status_code <= 299:
                body = await reply.aread()
                parse_response(
                    self.spec,
                    self.model_type,
                    status=reply.status_code,
                    headers=reply.headers,
                    body=body,
                    calling_id=calling.id,
                    secret=self._api_key,
                )
                raise ProviderError(  # pragma: no cover - parse_response raises for non-2xx
                    f"{self.spec.name} answered HTTP {reply.status_code}",
                    status=reply.status_code,
                )
            decoder = stream_decoder(
                self.spec, headers=reply.headers, status=reply.status_code, calling_id=calling.id
            )
            sink = calling.stream_sink
            async for event in httpx2.EventSource(reply):
                for delta in decoder.feed(event.event, event.data):
                    if sink is not None:
                        await sink.send(delta)
            return decoder.result()
