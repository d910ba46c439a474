"""Turn a payload into a request for a provider, and its answer into the normalized shape.

Pure functions over a ``ProviderSpec``: no sockets here. The Endpoint actor sends
the ``ProviderRequest`` with its HTTP client and hands the status, headers and body
back to ``parse_response`` (or the stream's events to a ``StreamDecoder``).

The API key goes into ``auth_headers`` and nowhere else, as ``Credential`` values
whose repr is masked (so no frame's locals show it); that field is left out of the
request's repr, and extra headers that would carry credentials are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from callboard.errors import ConfigError
from callboard.resilience import InvalidResponse, Revealable, error_from_response

from ._anthropic import anthropic_body, parse_anthropic
from ._anthropic_stream import AnthropicStreamDecoder
from ._body import decode_json, want_map
from ._credential import Credential
from ._errors import MissingApiKey, PayloadError
from ._json_body import encode_json_body
from ._normalized import NormalizedResponse
from ._openai import build_multipart, openai_chat_body, parse_openai, responses_body
from ._openai_stream import OpenAIStreamDecoder
from ._replicate import parse_replicate, replicate_body
from ._responses_stream import ResponsesStreamDecoder
from ._spec import AuthStyle, Dialect, ModelType, ProviderSpec, RateLimitDialect
from ._stream import StreamDecoder

__all__ = [
    "ProviderRequest",
    "build_request",
    "parse_response",
    "rate_limit_state",
    "stream_decoder",
]

_CREDENTIAL_HEADERS = frozenset(
    {"authorization", "x-api-key", "api-key", "proxy-authorization", "x-goog-api-key"}
)

_RATE_LIMIT_PREFIXES: dict[RateLimitDialect, tuple[str, ...]] = {
    RateLimitDialect.OPENAI: ("x-ratelimit-",),
    RateLimitDialect.ANTHROPIC: ("anthropic-ratelimit-",),
    RateLimitDialect.NONE: (),
}


_STREAMED = frozenset({ModelType.CHAT, ModelType.RESPONSES})

# Model types uploaded as multipart/form-data: the file they need, and what they are.
_MULTIPART = {
    ModelType.SPEECH_TO_TEXT: ("file", "speech-to-text"),
    ModelType.IMAGE_EDIT: ("image", "image edit"),
}


def _readonly(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _readonly_auth(value: Mapping[str, Credential]) -> Mapping[str, Credential]:
    return MappingProxyType(dict(value))


@attrs.frozen
class ProviderRequest:
    """One HTTP request, ready for a client to send.

    Exactly one of ``json`` and ``files`` is set (``data`` goes with ``files`` as
    multipart form fields). ``json`` is encoded when the request is built, so a value
    that is not JSON fails here, as a ``PayloadError`` naming its field, and never
    inside a client that is sending.

    Attributes:
        method: the HTTP method.
        url: the full URL.
        headers: non-secret headers (accept, version, idempotency key, extras).
        auth_headers: the credential header(s), masked until revealed; left out of repr.
        json: the JSON body.
        content: ``json`` encoded as sent (compact UTF-8), computed from it.
        data: multipart form fields.
        files: multipart files as ``name -> (filename, content, content_type)``.
        stream: whether the response is a server-sent event stream.
        model_type: what kind of call this is (decides how to read the answer).
    """

    method: str
    url: str
    headers: Mapping[str, str] = attrs.field(converter=_readonly)
    auth_headers: Mapping[str, Credential] = attrs.field(converter=_readonly_auth, repr=False)
    json: Mapping[str, object] | None = None
    data: Mapping[str, str | list[str]] | None = None
    files: Mapping[str, tuple[str, bytes, str]] | None = attrs.field(default=None, repr=False)
    stream: bool = False
    model_type: ModelType = ModelType.CHAT
    content: bytes | None = attrs.field(
        init=False,
        repr=False,
        eq=False,
        default=attrs.Factory(lambda self: _encoded(self), takes_self=True),
    )

    def all_headers(self) -> dict[str, str]:
        """Every header to send, credentials revealed (do not log this)."""
        revealed = {name: value.reveal() for name, value in self.auth_headers.items()}
        return {**self.headers, **revealed}


def _encoded(request: ProviderRequest) -> bytes | None:
    return None if request.json is None else encode_json_body(request.json)


def _auth_headers(spec: ProviderSpec, api_key: str | Revealable | None) -> dict[str, Credential]:
    if spec.auth is AuthStyle.NONE:
        return {}
    if not api_key:
        if spec.api_key_required:
            where = f" (usually in the {spec.api_key_env} environment variable)"
            raise MissingApiKey(
                f"provider {spec.name!r} needs an API key{where if spec.api_key_env else ''}",
                field="api_key",
            )
        return {}
    if spec.auth is AuthStyle.X_API_KEY:
        return {"x-api-key": Credential(api_key)}
    return {"authorization": Credential(api_key, prefix="Bearer ")}


def build_request(
    spec: ProviderSpec,
    model_type: ModelType | str,
    payload: Mapping[str, object],
    *,
    api_key: str | Revealable | None = None,
    stream: bool = False,
    idempotency_key: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ProviderRequest:
    """Build the request that asks ``spec``'s provider for ``payload``.

    Args:
        spec: the provider.
        model_type: the kind of call (must be one the provider offers).
        payload: the provider-native request fields (``model``, ``messages``, ...).
        api_key: the resolved key (a ``Secret`` keeps it out of every frame's locals);
            sent only in the auth header.
        stream: ask for a server-sent event stream (chat and responses only).
        idempotency_key: sent as ``Idempotency-Key`` so retries are not duplicated.
        headers: extra non-secret headers.

    Raises:
        UnsupportedModelType: the provider does not offer ``model_type``.
        MissingApiKey: the provider needs a key and none was given.
        ConfigError: ``headers`` tries to carry a credential.
        PayloadError: the payload cannot become this kind of request, or a value in it
            is not JSON (``field`` names it).

    Example:
        >>> from callboard.providers import get_provider
        >>> request = build_request(get_provider("openai"), "chat",
        ...     {"model": "gpt-4o-mini", "messages": []}, api_key="sk-test-123456")
        >>> request.url, "sk-test" in repr(request)
        ('https://api.openai.com/v1/chat/completions', False)
    """
    url = spec.url_for(model_type)
    kind = ModelType(model_type)
    if stream and kind not in _STREAMED:
        raise PayloadError(
            f"streaming is supported for chat and responses only, not {kind.value!r}"
        )
    extra = dict(headers or {})
    for name in extra:
        if name.lower() in _CREDENTIAL_HEADERS:
            raise ConfigError(
                f"header {name!r} carries a credential; pass the key as api_key instead",
                field="headers",
            )
    plain: dict[str, str] = {
        "accept": "text/event-stream" if stream else "application/json",
        **spec.headers,
        **{name.lower(): value for name, value in extra.items()},
    }
    if idempotency_key is not None:
        plain["idempotency-key"] = idempotency_key
    auth = _auth_headers(spec, api_key)
    if spec.dialect is Dialect.REPLICATE:
        body = replicate_body({**spec.default_fields, **payload})
        return ProviderRequest("POST", url, plain, auth, json=body, model_type=kind)
    if kind in _MULTIPART:
        required, what = _MULTIPART[kind]
        fields = {**spec.default_fields, **payload}
        data, files = build_multipart(fields, required=required, what=what)
        return ProviderRequest("POST", url, plain, auth, data=data, files=files, model_type=kind)
    if kind is ModelType.TEXT_TO_SPEECH:
        plain["accept"] = "*/*"
    if spec.dialect is Dialect.ANTHROPIC:
        body = anthropic_body(spec, payload, stream)
    elif kind is ModelType.CHAT:
        body = openai_chat_body(spec, payload, stream)
    elif kind is ModelType.RESPONSES:
        body = responses_body(spec, payload, stream)
    else:
        body = {**spec.default_fields, **payload}
    return ProviderRequest("POST", url, plain, auth, json=body, stream=stream, model_type=kind)


def rate_limit_state(spec: ProviderSpec, headers: Mapping[str, str]) -> dict[str, str] | None:
    """The provider's rate-limit headers (lower-cased), or ``None`` when it sent none.

    Kept raw here; the limits layer parses the values (durations, RFC 3339 resets).
    ``retry-after`` and ``retry-after-ms`` are included for every dialect.
    """
    prefixes = (*_RATE_LIMIT_PREFIXES[spec.rate_limit_dialect], "retry-after")
    state = {
        name.lower(): value for name, value in headers.items() if name.lower().startswith(prefixes)
    }
    return state or None


def parse_response(
    spec: ProviderSpec,
    model_type: ModelType | str,
    *,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    calling_id: str | None = None,
    secret: str | Revealable | None = None,
) -> NormalizedResponse:
    """Read a complete (non-streamed) response.

    Args:
        spec: the provider that answered.
        model_type: the kind of call that was made.
        status: the HTTP status.
        headers: the response headers.
        body: the raw body.
        calling_id: carried on any error.
        secret: the API key that was sent, scrubbed from error messages.

    Returns:
        The normalized response (``raw`` is the decoded JSON, or the bytes of audio).

    Raises:
        ProviderError: a typed error for a non-2xx status (or a Responses API body that
            says it failed).
        InvalidResponse: a 2xx body that is not what the model type returns: not JSON
            (invalid UTF-8, a number of thousands of digits, nesting too deep), or JSON
            of the wrong shape at any level.
    """
    kind = model_type if type(model_type) is ModelType else ModelType(model_type)
    if not 200 <= status <= 299:
        raise error_from_response(
            status, headers, body, provider=spec.name, calling_id=calling_id, secret=secret
        )
    rate_limit = rate_limit_state(spec, headers)
    content_type = _content_type(headers)
    try:
        if kind is ModelType.TEXT_TO_SPEECH:
            if "json" in content_type or "html" in content_type or not body:
                raise InvalidResponse(f"expected audio, got {content_type or 'an empty body'}")
            parsed = NormalizedResponse(raw=body)
        elif kind is ModelType.SPEECH_TO_TEXT and "text/plain" in content_type:
            parsed = NormalizedResponse(text=body.decode("utf-8", "replace"), raw=body)
        else:
            decoded = _decode_json(body, content_type)
            if spec.dialect is Dialect.REPLICATE:
                parsed = parse_replicate(
                    decoded, provider=spec.name, status=status, calling_id=calling_id
                )
            else:
                parsed = _read(spec, kind, decoded)
    except InvalidResponse as error:
        raise InvalidResponse(
            f"{spec.name} returned HTTP {status} with an unreadable {kind.value} body: "
            f"{error.message}; check that base_url and path reach the {spec.name} API "
            "(a proxy or a server of another dialect may have answered)",
            status=status,
            provider=spec.name,
            calling_id=calling_id,
        ) from None
    return _stamped(parsed, provider=spec.name, status_code=status, rate_limit=rate_limit)


def _stamped(
    parsed: NormalizedResponse, *, provider: str, status_code: int, rate_limit: object
) -> NormalizedResponse:
    # The dialect parsers built ``parsed`` for this call and nobody holds it yet, so the
    # envelope is set on it in place: attrs.evolve copied all its fields again (a
    # quarter of this function's CPU on every call).
    for name, value in (
        ("provider", provider),
        ("status_code", status_code),
        ("rate_limit", rate_limit),
    ):
        object.__setattr__(parsed, name, value)
    return parsed


def _read(spec: ProviderSpec, kind: ModelType, decoded: Mapping[str, object]) -> NormalizedResponse:
    try:
        if spec.dialect is Dialect.ANTHROPIC:
            return parse_anthropic(decoded)
        return parse_openai(kind, decoded)
    except RecursionError:
        # A value nested just shallowly enough to parse can still be too deep to walk.
        raise InvalidResponse("the body is nested too deeply") from None


def _content_type(headers: Mapping[str, str]) -> str:
    found = headers.get("content-type")  # transports hand over lower-cased names
    if found is None:
        found = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return found.lower()


def _decode_json(body: bytes, content_type: str) -> Mapping[str, object]:
    try:
        decoded = decode_json(body)
    except ValueError:
        head = body[:200].lstrip().lower()
        if "html" in content_type or head.startswith((b"<!doctype html", b"<html")):
            raise InvalidResponse(
                "an HTML page instead of JSON (a proxy or gateway error page)"
            ) from None
        raise InvalidResponse("the body is not JSON") from None
    return want_map(decoded, "body")


def stream_decoder(
    spec: ProviderSpec,
    *,
    model_type: ModelType | str = ModelType.CHAT,
    headers: Mapping[str, str] | None = None,
    status: int = 200,
    calling_id: str | None = None,
) -> StreamDecoder:
    """A fresh decoder for one streamed response from ``spec``'s provider.

    Args:
        spec: the provider streaming.
        model_type: what was asked for: ``chat`` (chat completions, or Anthropic's
            Messages) or ``responses`` (OpenAI's Responses API).
        headers: the stream response's headers (for the final rate-limit state).
        status: the stream response's status.
        calling_id: carried on errors.

    Example:
        >>> from callboard.providers import get_provider
        >>> decoder = stream_decoder(get_provider("openai"))
        >>> [d.text for d in decoder.feed("message",
        ...     '{"model": "m", "choices": [{"index": 0, "delta": {"content": "Hi"}}]}')]
        ['Hi']
        >>> _ = decoder.feed("message", "[DONE]")
        >>> decoder.result().text
        'Hi'
    """
    rate_limit = rate_limit_state(spec, headers or {})
    decoder: type[StreamDecoder] = OpenAIStreamDecoder
    if spec.dialect is Dialect.ANTHROPIC:
        decoder = AnthropicStreamDecoder
    elif ModelType(model_type) is ModelType.RESPONSES:
        decoder = ResponsesStreamDecoder
    return decoder(
        provider=spec.name, calling_id=calling_id, status_code=status, rate_limit=rate_limit
    )
