"""The request fields each wire dialect documents, per model type, as data.

``iModel(provider=..., temperature=0.2)`` and ``match_endpoint(..., temperature=0.2)``
take request defaults as keywords; these lists are how a keyword is known to be a
request field and not a misspelled option (``limit_request=5`` would otherwise be sent
in every request body, and the rate limit it meant would silently not exist). A field
the provider accepts but the list lacks goes through ``default_fields={...}`` on purpose.

The lists follow the providers' own API references: OpenAI's Chat Completions,
Embeddings, Moderations, Images, Audio (speech, transcriptions) and the rerank APIs of
the OpenAI-compatible servers that offer one; Anthropic's Messages API.
"""

from __future__ import annotations

from ._spec import Dialect, ModelType, ProviderSpec

__all__ = ["request_fields"]

_OPENAI: dict[ModelType, frozenset[str]] = {
    ModelType.CHAT: frozenset(
        {
            "audio",
            "frequency_penalty",
            "function_call",
            "functions",
            "logit_bias",
            "logprobs",
            "max_completion_tokens",
            "max_tokens",
            "messages",
            "metadata",
            "modalities",
            "model",
            "n",
            "parallel_tool_calls",
            "prediction",
            "presence_penalty",
            "prompt_cache_key",
            "reasoning_effort",
            "response_format",
            "safety_identifier",
            "seed",
            "service_tier",
            "stop",
            "store",
            "stream",
            "stream_options",
            "temperature",
            "tool_choice",
            "tools",
            "top_logprobs",
            "top_p",
            "user",
            "verbosity",
            "web_search_options",
        }
    ),
    # Jina AI's embeddings API adds task, late_chunking, normalized, embedding_type, truncate.
    ModelType.EMBEDDINGS: frozenset(
        {
            "dimensions",
            "embedding_type",
            "encoding_format",
            "input",
            "late_chunking",
            "model",
            "normalized",
            "task",
            "truncate",
            "user",
        }
    ),
    ModelType.IMAGE_EMBEDDINGS: frozenset(
        {"dimensions", "embedding_type", "input", "model", "normalized", "task", "truncate"}
    ),
    ModelType.RESPONSES: frozenset(
        {
            "background",
            "conversation",
            "include",
            "input",
            "instructions",
            "max_output_tokens",
            "max_tool_calls",
            "metadata",
            "model",
            "parallel_tool_calls",
            "previous_response_id",
            "prompt",
            "prompt_cache_key",
            "reasoning",
            "safety_identifier",
            "service_tier",
            "store",
            "stream",
            "temperature",
            "text",
            "tool_choice",
            "tools",
            "top_logprobs",
            "top_p",
            "truncation",
            "user",
        }
    ),
    # Jina AI's /classify, with text or image inputs.
    ModelType.CLASSIFICATION: frozenset({"input", "labels", "model"}),
    ModelType.IMAGE_CLASSIFICATION: frozenset({"input", "labels", "model"}),
    ModelType.IMAGE_EDIT: frozenset(
        {
            "background",
            "image",
            "input_fidelity",
            "mask",
            "model",
            "n",
            "output_compression",
            "output_format",
            "partial_images",
            "prompt",
            "quality",
            "response_format",
            "size",
            "stream",
            "user",
        }
    ),
    ModelType.MODERATION: frozenset({"input", "model"}),
    ModelType.IMAGE_GENERATION: frozenset(
        {
            "background",
            "model",
            "moderation",
            "n",
            "output_compression",
            "output_format",
            "prompt",
            "quality",
            "response_format",
            "size",
            "style",
            "user",
        }
    ),
    ModelType.TEXT_TO_SPEECH: frozenset(
        {"input", "instructions", "model", "response_format", "speed", "stream_format", "voice"}
    ),
    ModelType.SPEECH_TO_TEXT: frozenset(
        {
            "chunking_strategy",
            "file",
            "include",
            "language",
            "model",
            "prompt",
            "response_format",
            "stream",
            "temperature",
            "timestamp_granularities",
        }
    ),
    ModelType.RERANK: frozenset(
        {
            "documents",
            "max_chunks_per_doc",
            "model",
            "query",
            "rank_fields",
            "return_documents",
            "top_n",
        }
    ),
}

_ANTHROPIC: dict[ModelType, frozenset[str]] = {
    ModelType.CHAT: frozenset(
        {
            "container",
            "max_tokens",
            "mcp_servers",
            "messages",
            "metadata",
            "model",
            "service_tier",
            "stop_sequences",
            "stream",
            "system",
            "temperature",
            "thinking",
            "tool_choice",
            "tools",
            "top_k",
            "top_p",
        }
    ),
}


def request_fields(spec: ProviderSpec, model_type: ModelType) -> frozenset[str]:
    """The request body fields ``spec``'s dialect documents for ``model_type``.

    Example:
        >>> from callboard.providers import ModelType, get_provider
        >>> "temperature" in request_fields(get_provider("openai"), ModelType.CHAT)
        True
        >>> "limit_requests" in request_fields(get_provider("anthropic"), ModelType.CHAT)
        False
    """
    table = _ANTHROPIC if spec.dialect is Dialect.ANTHROPIC else _OPENAI
    return table.get(model_type, frozenset()) | frozenset(spec.default_fields)
