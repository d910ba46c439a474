"""One attempt on the wire: send a built request, read the answer in the provider's dialect.

Kept apart from the Endpoint actor (which owns clients, retries and the circuit) so the
per-call path reads top to bottom: send, feed the rate-limit headers back, parse, charge.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import trio

from callboard.calling import Calling, estimate_tokens
from callboard.limits import (
    RateLimitState,
    TokenCharge,
    parse_anthropic_headers,
    parse_openai_headers,
    parse_retry_after,
)
from callboard.providers import NormalizedResponse, Usage, parse_response, stream_decoder
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


Feedback = Callable[[RateLimitState | None, int, Calling], None]
"""Told every response: its rate-limit state (``None``: no such header), status, Calling."""


def _retry_only(headers: Mapping[str, str]) -> RateLimitState:
    return RateLimitState(retry_after=parse_retry_after(headers))


def token_charge(usage: Usage, payload: Mapping[str, Any], dialect: str) -> TokenCharge:
    """What the provider counted against its token limits, from its reported usage.

    Anthropic leaves prompt-cache reads out of its input-token limit ("only uncached
    input tokens count toward your ITPM rate limits"); OpenAI counts the whole prompt
    and reserves the output the request allows (``max_tokens``).
    """
    counted = usage.prompt_tokens - (usage.cached_tokens if dialect == "anthropic" else 0)
    cap = next(
        (
            value
            for key in _OUTPUT_KEYS
            if isinstance(value := payload.get(key), int) and not isinstance(value, bool)
        ),
        None,
    )
    return TokenCharge(
        input_tokens=max(0, counted),
        output_tokens=usage.completion_tokens,
        reserved_tokens=None
        if cap is None
        else max(0, counted) + max(cap, usage.completion_tokens),
        dialect=dialect,
    )


class Wire:
    """Sends one request for a provider and reads the answer into a NormalizedResponse.

    Args:
        spec: the provider.
        model_type: what kind of call the Endpoint makes.
        secret: the key that was sent (masked), scrubbed from error messages.
        observe: told about every response (the Executor's ``feedback``).
    """

    def __init__(
        self,
        spec: ProviderSpec,
        model_type: ModelType,
        *,
        secret: Revealable | None,
        observe: Feedback | None,
    ) -> None:
        self.spec = spec
        self.model_type = model_type
        self._secret = secret
        self.observe = observe
        self._dialect = str(spec.rate_limit_dialect)
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

    def feedback(self, headers: Mapping[str, str], status: int, calling: Calling) -> None:
        """Tell the Executor about a response (every response, 429s too): its status and
        the rate-limit state in its headers, if any."""
        observe = self.observe
        if observe is not None:
            state: RateLimitState | None = None
            prefixes = self._limit_prefixes
            for name in headers:
                if name.lower().startswith(prefixes):
                    state = self._parse_headers(headers)
                    if state.empty:
                        state = None
                    break
            observe(state, status, calling)

    def _charge(self, calling: Calling, usage: Usage | None) -> None:
        if usage is not None:
            calling.actual_tokens = usage.total_tokens
            calling.charge = token_charge(usage, calling.payload, self._dialect)

    async def call(
        self, transport: Transport, request: ProviderRequest, calling: Calling
    ) -> NormalizedResponse:
        """One complete request → the normalized response; usage sets ``actual_tokens``.

        Raises:
            ProviderError: the typed error for the status, or the transport's failure.
        """
        answer = await transport.send(request)
        self.feedback(answer.headers, answer.status, calling)
        response = self._parse_response(
            self.spec,
            self.model_type,
            status=answer.status,
            headers=answer.headers,
            body=answer.body,
            calling_id=calling.id,
            secret=self._secret,
        )
        self._charge(calling, response.usage)
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
                self.feedback(answer.headers, answer.status, calling)
                raise error_from_response(
                    answer.status,
                    answer.headers,
                    body,
                    provider=self.spec.name,
                    calling_id=calling.id,
                    secret=self._secret,
                )
            self.feedback(answer.headers, answer.status, calling)
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
                self._charge(calling, _stream_usage(decoder, payload))
            return decoder.result()


def _stream_usage(decoder: StreamDecoder, payload: Mapping[str, Any]) -> Usage:
    """Tokens a stream consumed: the provider's count, or an estimate of what was seen."""
    seen = -(-len(decoder.text) // 4)
    usage = decoder.usage
    if usage is not None and decoder.done:
        return usage
    prompt_only = {key: value for key, value in payload.items() if key not in _OUTPUT_KEYS}
    prompt = usage.prompt_tokens if usage is not None else estimate_tokens(prompt_only)
    completion = max(usage.completion_tokens if usage is not None else 0, seen)
    cached = usage.cached_tokens if usage is not None else 0
    return Usage(prompt_tokens=prompt, completion_tokens=completion, cached_tokens=cached)
