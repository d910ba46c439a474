"""The provider endpoint classes lionpride users import, as ready-made Endpoints.

``AnthropicMessagesEndpoint(api_key=..., circuit_breaker=..., retry_config=...)`` is an
``Endpoint`` over ``EndpointConfig(provider="anthropic", endpoint="chat", ...)``:
the same actor, transports and resilience; only the spelling of the constructor is
lionpride's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from callboard.resilience import CircuitBreaker, RetryPolicy

from ._config import CircuitSettings, EndpointConfig
from ._endpoint import Endpoint
from ._secret import Secret

if TYPE_CHECKING:
    from callboard.actors import Broadcast, LifecycleEvent
    from callboard.executor import Executor

__all__ = [
    "AnthropicMessagesEndpoint",
    "GroqChatEndpoint",
    "OpenAIChatEndpoint",
    "ProviderEndpoint",
]


def _circuit(breaker: CircuitBreaker | CircuitSettings | None) -> CircuitSettings:
    if breaker is None:
        return CircuitSettings()
    if isinstance(breaker, CircuitSettings):
        return breaker
    # The Endpoint builds its own breaker (named after it, publishing transitions):
    # what a given one contributes is its numbers, not its state.
    return CircuitSettings(
        failure_threshold=breaker.failure_threshold,
        recovery_time=breaker.recovery_time,
        half_open_probes=breaker.half_open_probes,
    )


class ProviderEndpoint(Endpoint):
    """An Endpoint for one provider's endpoint, built from lionpride's keywords.

    Subclasses name the provider and model type; see ``AnthropicMessagesEndpoint``.

    Args:
        api_key: as ``EndpointConfig``'s ``api_key`` (an environment variable's
            name such as ``"ANTHROPIC_API_KEY"``, or a [`Secret`][callboard.Secret]).
        base_url: the API root, instead of the provider's.
        model: the default ``model`` request field.
        circuit_breaker: a ``CircuitBreaker`` (or ``CircuitSettings``) whose
            numbers the Endpoint's own breaker takes.
        retry_config: a [`RetryPolicy`][callboard.RetryPolicy] (``RetryConfig(...)`` builds one).
        timeout: seconds to connect and between bytes of an answer.
        transport: ``"http"``, ``"httpx"`` or ``"sdk"``.
        executor: the Executor in front of it (see [`Endpoint`][callboard.Endpoint]).
        broadcast: where its events go.

    Raises:
        InvalidEndpointConfig: an option is invalid (every bad one is listed).
        MissingApiKey: no key was given or found in the provider's variable.
    """

    provider_name: ClassVar[str]
    model_type_name: ClassVar[str] = "chat"

    def __init__(
        self,
        *,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        model: str | None = None,
        circuit_breaker: CircuitBreaker | CircuitSettings | None = None,
        retry_config: RetryPolicy | None = None,
        timeout: float | None = 60.0,
        transport: str = "http",
        executor: Executor | None = None,
        broadcast: Broadcast[LifecycleEvent] | None = None,
    ) -> None:
        config = EndpointConfig(
            provider=self.provider_name,
            endpoint=self.model_type_name,
            api_key=api_key,
            base_url=base_url,
            default_fields={"model": model} if model is not None else {},
            circuit=_circuit(circuit_breaker),
            retry=retry_config if retry_config is not None else RetryPolicy(),
            timeout=timeout,
            transport=transport,
        )
        super().__init__(config, executor=executor, broadcast=broadcast)


class AnthropicMessagesEndpoint(ProviderEndpoint):
    """Anthropic's Messages API (``POST /v1/messages``); lionpride's
    ``anthropic_messages``.

    Example::

        backend = AnthropicMessagesEndpoint(
            api_key="ANTHROPIC_API_KEY",
            circuit_breaker=CircuitBreaker(failure_threshold=5, recovery_time=30.0),
            retry_config=RetryConfig(max_retries=3, initial_delay=1.0),
        )
        model = iModel(backend=backend)
    """

    provider_name = "anthropic"


class OpenAIChatEndpoint(ProviderEndpoint):
    """OpenAI's chat completions (``POST /v1/chat/completions``); ``openai_chat``."""

    provider_name = "openai"


class GroqChatEndpoint(ProviderEndpoint):
    """Groq's OpenAI-compatible chat completions; ``groq_chat``."""

    provider_name = "groq"
