"""What normalizing costs: stream events and full responses, against bare json.loads.

The Endpoint adds this work to every streamed chunk (so it sits inside time-to-first-chunk,
whose overhead target is <= 1 ms) and to every response. Each figure is measured beside a
baseline in the same run: ``json.loads`` of the same bytes, the least any client must do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from benchmarks._report import record
from callboard.providers import build_request, get_provider, parse_response, stream_decoder

ROUNDS = 20_000

_CHUNK = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"content": "token"}, "finish_reason": None}],
    }
)
_ANTHROPIC_DELTA = json.dumps(
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "token"}}
)
_RESPONSE = json.dumps(
    {
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"content": "Hello " * 40}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 40, "total_tokens": 60},
    }
).encode()


def _per_call(fn: Callable[[], object], rounds: int = ROUNDS) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - start) / rounds


def main() -> None:
    openai = get_provider("openai")
    anthropic = get_provider("anthropic")
    openai_decoder = stream_decoder(openai)
    anthropic_decoder = stream_decoder(anthropic)
    headers = {"content-type": "application/json"}
    payload = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    rows = [
        (
            "openai chunk -> delta",
            _per_call(lambda: openai_decoder.feed("message", _CHUNK)),
            _per_call(lambda: json.loads(_CHUNK)),
        ),
        (
            "anthropic delta -> delta",
            _per_call(lambda: anthropic_decoder.feed("content_block_delta", _ANTHROPIC_DELTA)),
            _per_call(lambda: json.loads(_ANTHROPIC_DELTA)),
        ),
        (
            "chat response -> normalized",
            _per_call(
                lambda: parse_response(openai, "chat", status=200, headers=headers, body=_RESPONSE)
            ),
            _per_call(lambda: json.loads(_RESPONSE)),
        ),
        (
            "payload -> request",
            _per_call(
                lambda: build_request(openai, "chat", payload, api_key="sk-test", stream=True)
            ),
            _per_call(lambda: json.dumps(payload)),
        ),
    ]
    print(f"{'step':<30}{'callboard µs':>14}{'baseline µs':>14}{'ratio':>8}  target")
    for name, ours, baseline in rows:
        verdict = "ok" if ours < 1e-3 else "MISSED"
        print(
            f"{name:<30}{ours * 1e6:>14.2f}{baseline * 1e6:>14.2f}{ours / baseline:>8.1f}"
            f"  < 1000 µs per step: {verdict}"
        )
        record(
            name,
            ours * 1e6,
            "µs",
            baseline=baseline * 1e6,
            baseline_name="json only",
            ratio=ours / baseline,
            target="< 1000 µs",
            passed=ours < 1e-3,
        )


if __name__ == "__main__":
    main()
