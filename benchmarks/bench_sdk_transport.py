"""What the sdk transport costs against the http transport, and claude_code against a bare
subprocess.

- Throughput of Messages calls, 32 concurrent, through ``transport="sdk"`` (the official
  anthropic SDK) beside ``transport="http"`` (one httpx2 client) on the same fake
  provider in the same run. The SDK builds and validates every request in Python, so
  it is slower; the figure says by how much.
- One ``ClaudeCode.execute`` against a stand-in CLI beside ``trio.run_process`` of the
  same script capturing its output: what reading stream-json lines, decoding them and
  killing-on-cancel plumbing add to a subprocess call.
"""

from __future__ import annotations

import stat
import sys
import tempfile
import time
from pathlib import Path

import attrs
import trio

from benchmarks._report import record
from callboard.calling import Calling
from callboard.endpoint import (
    ClaudeCode,
    ClaudeCodeConfig,
    Secret,
    Transport,
    TransportSettings,
    open_transport,
)
from callboard.providers import ProviderRequest, build_request, get_provider
from callboard.testing import FakeProvider

KEY = "sk-bench"
CONCURRENCY = 32
CALLS = 640
SUBPROCESS_RUNS = 20

_STAND_IN = r"""
import json, sys
prompt = sys.stdin.read()
for message in (
    {"type": "system", "subtype": "init", "session_id": "s1", "model": "m"},
    {"type": "assistant", "session_id": "s1", "message": {"role": "assistant",
     "content": [{"type": "text", "text": "echo " + prompt}]}},
    {"type": "result", "subtype": "success", "is_error": False, "result": "echo " + prompt,
     "session_id": "s1", "total_cost_usd": 0.0,
     "usage": {"input_tokens": 3, "output_tokens": 2}},
):
    print(json.dumps(message), flush=True)
"""


async def _throughput(name: str, fp: FakeProvider) -> float:
    settings = TransportSettings(
        timeout=30.0,
        max_connections=CONCURRENCY,
        base_url=f"{fp.base_url}/v1",
        api_key=Secret(KEY),
        provider="anthropic",
    )
    spec = attrs.evolve(get_provider("anthropic"), base_url=f"{fp.base_url}/v1")
    request = build_request(
        spec,
        "chat",
        {
            "model": "claude-haiku-4-5",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "hi"}],
        },
        api_key=KEY,
    )
    async with open_transport(name, settings) as transport:
        await transport.send(request)  # warm the pool (and the SDK's first-call setup)
        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(CONCURRENCY):
                nursery.start_soon(_worker, transport, request, CALLS // CONCURRENCY)
        return CALLS / (time.perf_counter() - start)


async def _worker(transport: Transport, request: ProviderRequest, calls: int) -> None:
    for _ in range(calls):
        answer = await transport.send(request)
        assert answer.status == 200


async def _transports() -> tuple[float, float]:
    async with FakeProvider(keys=[KEY]) as fp:
        http = await _throughput("http", fp)
        sdk = await _throughput("sdk", fp)
    return http, sdk


async def _subprocess(script: Path) -> tuple[float, float]:
    backend = ClaudeCode(ClaudeCodeConfig(executable=str(script)))
    await backend.execute(Calling({"prompt": "warm", "resume": False}))
    start = time.perf_counter()
    for _ in range(SUBPROCESS_RUNS):
        await backend.execute(Calling({"prompt": "hi", "resume": False}))
    ours = (time.perf_counter() - start) / SUBPROCESS_RUNS
    start = time.perf_counter()
    for _ in range(SUBPROCESS_RUNS):
        await trio.run_process(
            [str(script), "-p"], stdin=b"hi", capture_stdout=True, capture_stderr=True
        )
    bare = (time.perf_counter() - start) / SUBPROCESS_RUNS
    return ours, bare


def main() -> None:
    http, sdk = trio.run(_transports)
    print(f"{'messages calls, 32 concurrent':<40}{'calls/s':>12}")
    print(f"{'  http transport (httpx2)':<40}{http:>12.0f}")
    print(f"{'  sdk transport (anthropic SDK)':<40}{sdk:>12.0f}   {sdk / http:.2f}x of http")
    record(
        "sdk transport throughput, 32 concurrent",
        sdk,
        "calls/s",
        baseline=http,
        baseline_name="http transport",
        ratio=sdk / http,
    )
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "claude"
        script.write_text(f"#!{sys.executable}\n{_STAND_IN}")
        script.chmod(script.stat().st_mode | stat.S_IEXEC)
        ours, bare = trio.run(_subprocess, script)
    print(f"{'claude_code call (stand-in CLI)':<40}{ours * 1000:>10.1f} ms")
    print(f"{'  bare trio.run_process':<40}{bare * 1000:>10.1f} ms   {ours / bare:.2f}x")
    record(
        "claude_code call overhead (stand-in CLI)",
        ours * 1000,
        "ms",
        baseline=bare * 1000,
        baseline_name="bare trio.run_process",
        ratio=ours / bare,
    )
