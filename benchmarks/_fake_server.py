"""The fake provider as a server of its own for the benchmarks (bench_endpoint).

python -m benchmarks._fake_server     # prints its base URL, serves until stdin closes
"""

from __future__ import annotations

import sys

import trio

from callboard.testing import FakeProvider


async def _serve() -> None:
    async with FakeProvider() as fp:
        print(fp.base_url, flush=True)
        # Serve until the parent closes our stdin (or dies).
        await trio.to_thread.run_sync(sys.stdin.read)


if __name__ == "__main__":
    trio.run(_serve)
