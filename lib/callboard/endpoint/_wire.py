"""One attempt on the wire: send a built request, read the answer in the provider's dialect.

Kept apart from the Endpoint actor (which owns clients, retries and the circuit) so the
per-call path reads top to bottom: send, feed the rate-limit headers back, parse, charge.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import trio

from callboard.calling import Calling, estimate_tokens
from callboard.limits import (
    RateLimitState,
    parse_anthropic_headers,
    parse_openai_headers,
    parse_retry_after,
)
from callboard.providers import NormalizedResponse, parse_response, stream_decoder
from callboard.resilience import (
    ConnectionFailed,
    ProviderError,
    Revealable,
    Timeout,
    error_from_response,
)

from ._transport import Transport

if TYPE_CHECKING:
    from callboard.providers import ModelType, ProviderRequest, ProviderSpec, StreamDecoder

__all__ = ["Wire"]

_OUTPUT_KEYS = frozenset({"max_tokens", "max_completion_tokens", "max_output_tokens"})


def _retry_only(headers: Mapping[str, str]) -> RateLimitState:
    return RateLimitState(retry_after=parse_retry_after(headers))


class Wire:
    """Sends one request for a provider and reads the answer into a NormalizedResponse.

    Args:
        spec: the provider.
        model_type: what kind of call the Endpoint makes.
        secret: the key that was sent (masked), scrubbed from error messages.
        observe: where parsed rate-limit headers go (the Executor's ``observe``).
    """

    def __init__(
        self,
        spec: ProviderSpec,
        model_type: ModelType,
        *,
        secret: Revealable | None,
        observe: Callable[[RateLimitState], None] | None,
    ) -> None:
        self.spec = spec
        self.model_type = model_type
        self._secret = secret
        self.observe = observe
        self._parse_response: Callable[..., NormalizedResponse] = parse_response
        self._stream_decoder: Callable[..., StreamDecoder] = stream_decoder
        dialect = str(spec.rate_limit_dialect)
        self._parse_headers: Callable[[Mapping[str, str]], RateLimitState] = (
            parse_openai_headers
            if dialect == "openai"
            else parse_anthropic_headers
            if dialect == "anthropic"
            else _retry_only
        )
        # Names that carry rate-limit state: a response with none of them (the common
        # case for many servers) is not parsed at all.
        self._limit_prefixes: tuple[str, ...] = (
            ("x-ratelimit-", "retry-after")
            if dialect == "openai"
            else ("anthropic-ratelimit-", "retry-after")
            if dialect == "anthropic"
            else ("retry-after",)
        )

    def feedback(self, headers: Mapping[str, str]) -> None:
        """Feed a response's rate-limit headers to the Executor (every response, 429s too)."""
        observe = self.observe
        if observe is not None:
            prefixes = self._limit_prefixes
            for name in headers:
                if name.lower().startswith(prefixes):
                    break
            else:
                return
            state = self._parse_headers(headers)
            if state.empty:
                return
            reset, limit = state.reset_requests, state.limit_requests
            if state.remaining_requests == 0 and state.retry_after is None and reset and limit:
                # Out of requests: the reset is the time to refill ``limit`` of them, so
                # the next one frees up after reset / limit. Waiting that long is what
                # keeps the next request from being a 429.
                state = attrs.evolve(state, retry_after=reset / limit)
            observe(state)

    async def call(
        self, transport: Transport, request: ProviderRequest, calling: Calling
    ) -> NormalizedResponse:
        """One complete request → the normalized response; usage sets ``actual_tokens``.

        Raises:
            ProviderError: the typed error for the status, or the transport's failure.
        """
        answer = await transport.send(request)
        self.feedback(answer.headers)
        response = self._parse_response(
            self.spec,
            self.model_type,
            status=answer.status,
            headers=answer.headers,
            body=answer.body,
            calling_id=calling.id,
            secret=self._secret,
        )
        if response.usage is not None:
            calling.actual_tokens = response.usage.total_tokens
        return response

    async def stream(
        self,
        transport: Transport,
        request: ProviderRequest,
        calling: Calling,
        payload: Mapping[str, Any],
    ) -> NormalizedResponse:
        """One streamed request: deltas into ``calling.stream_sink``, the final response back.

        Whatever way the stream ends (done, broken, cancelled), ``actual_tokens`` is set
        from what was seen: the reported usage, else an estimate of the prompt plus the
        text received.

        Raises:
            StreamInterrupted: the stream broke or ended early; ``partial_text`` and
                ``partial_tool_calls`` have what was received.
            ProviderError: the typed error for the status or an error event (not
                retryable once text was forwarded: a retry would repeat it).
        """
        async with transport.stream(request) as answer:
            if not 200 <= answer.status <= 299:
                body = await answer.read()
                self.feedback(answer.headers)
                raise error_from_response(
                    answer.status,
                    answer.headers,
                    body,
                    provider=self.spec.name,
                    calling_id=calling.id,
                    secret=self._secret,
                )
            self.feedback(answer.headers)
            decoder = self._stream_decoder(
                self.spec,
                model_type=self.model_type,
                headers=answer.headers,
                status=answer.status,
                calling_id=calling.id,
            )
            sink = calling.stream_sink
            forwarded = False
            try:
                async with contextlib.aclosing(answer.events()) as events:
                    async for event in events:
                        for delta in decoder.feed(event.event, event.data):
                            if sink is not None:
                                try:
                                    await sink.send(delta)
                                except (trio.BrokenResourceError, trio.ClosedResourceError):
                                    sink = None  # the reader left: finish the call unheard
                            forwarded = True
            except (ConnectionFailed, Timeout) as error:
                if forwarded:
                    raise decoder.interrupted(
                        f"the stream from {self.spec.name} broke after "
                        f"{len(decoder.text)} characters ({type(error).__name__}); the "
                        "partial text is kept on this error, and so are the tool calls"
                    ) from error
                raise
            except ProviderError as error:
                if forwarded:
                    error.should_retry = False
                raise
            finally:
                calling.actual_tokens = _charge(decoder, payload)
            return decoder.result()


def _charge(decoder: StreamDecoder, payload: Mapping[str, Any]) -> int:
    """Tokens a stream consumed: the provider's count, or an estimate of what was seen."""
    seen = -(-len(decoder.text) // 4)
    usage = decoder.usage
    if usage is not None and decoder.done:
        return usage.total_tokens
    prompt_only = {key: value for key, value in payload.items() if key not in _OUTPUT_KEYS}
    prompt = usage.prompt_tokens if usage is not None else estimate_tokens(prompt_only)
    completion = max(usage.completion_tokens if usage is not None else 0, seen)
    return prompt + completion
