"""lionfuncs' iModel: ``iModel(endpoint=<Endpoint>, executor=<Executor>)`` and
``invoke(request_payload, ...)`` returning a request event to await.

The call is the Endpoint's (``endpoint.operation(http_path=...)`` picks the operation
of its service); the Executor admits it: with a backend-less Executor
(``Executor(limit_requests=...)``, running under ``async with``) through
``submit_task``, which returns at once; without one, through the model's own path
(hooks, events, the same buckets), and the event comes back completed.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from callboard.calling import Backend, Calling
from callboard.endpoint import Endpoint
from callboard.errors import ConfigError
from callboard.executor import RequestEvent

if TYPE_CHECKING:
    from ._imodel import iModel

__all__ = ["invoke_request", "split_endpoint"]

_KEYWORDS = ("num_api_tokens_needed", "http_path", "http_method", "sdk_method_name", "metadata")


def split_endpoint(backend: Backend | None, endpoint: str | Endpoint) -> tuple[Backend | None, str]:
    """``(backend, endpoint path)`` from iModel's arguments: an Endpoint given as
    ``endpoint=`` (lionfuncs) is the backend.

    Raises:
        ConfigError: both ``backend=`` and an Endpoint as ``endpoint=``.
    """
    if isinstance(endpoint, str):
        return backend, endpoint
    if backend is not None:
        raise ConfigError(
            "give the Endpoint once: iModel(backend=endpoint) or iModel(endpoint=endpoint)",
            field="endpoint",
        )
    return endpoint, "chat/completions"


async def invoke_request(
    model: iModel,
    request_payload: Mapping[str, Any],
    *,
    num_api_tokens_needed: int = 0,
    http_path: str | None = None,
    http_method: str | None = None,
    sdk_method_name: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    **unknown: Any,
) -> RequestEvent:
    """``invoke()`` called with a request payload (the lionfuncs way).

    Raises:
        ConfigError: an unknown keyword (request fields belong in the payload), or an
            operation named for a backend that is not an Endpoint.
    """
    if unknown:
        field = sorted(unknown)[0]
        close = difflib.get_close_matches(field, _KEYWORDS, n=1)
        raise ConfigError(
            f"invoke(request_payload, ...) takes no {field!r}"
            + (f"; did you mean {close[0]!r}?" if close else "")
            + f" (it takes {', '.join(_KEYWORDS)}; request fields go in the payload)",
            field=field,
        )
    if not isinstance(request_payload, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ConfigError(
            "request_payload must be a mapping of request fields, e.g. "
            '{"model": "gpt-4o-mini", "messages": [...]}',
            field="request_payload",
        )
    backend = model.backend
    named = http_path is not None or http_method is not None or sdk_method_name is not None
    if isinstance(backend, Endpoint):
        target: Backend = backend.operation(
            http_path=http_path, http_method=http_method, sdk_method_name=sdk_method_name
        )
        name = backend.config.name
    elif named:
        raise ConfigError(
            "http_path, http_method and sdk_method_name choose an Endpoint's operation; "
            f"this model's backend is a {type(backend).__name__}",
            field="http_path",
        )
    else:
        target, name = backend, model.name
    payload = dict(request_payload)
    described = {"endpoint_name": name, **dict(metadata or {})}
    url = http_path or sdk_method_name
    executor = model.task_executor
    if executor is None:
        calling = Calling(payload, estimated_tokens=max(num_api_tokens_needed, 0))
        try:
            await model.invoke(calling=calling)
        except Exception:
            if not calling.finished:
                raise
        return RequestEvent(
            calling, endpoint_url=url, method=http_method, payload=payload, metadata=described
        )
    calling = Calling(payload)

    async def call() -> Any:
        response = await target.execute(calling)
        return getattr(response, "data", response)  # the decoded body, as lionfuncs returns

    return await executor.submit_task(
        call,
        num_api_tokens_needed=num_api_tokens_needed,
        endpoint_url=url,
        method=http_method,
        payload=payload,
        metadata=described,
    )
