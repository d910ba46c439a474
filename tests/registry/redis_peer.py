"""A second process on a shared RedisLimiter, for the Router's Redis test.

``python -m tests.registry.redis_peer PORT KEY CAPACITY PERIOD CALLS`` makes ``CALLS``
no-op calls through an iModel whose requests a ``RedisLimiter`` on ``KEY`` admits (Redis
on 127.0.0.1:PORT), then prints how many it made.
"""

from __future__ import annotations

import sys
from typing import Any

import trio


class Noop:
    async def execute(self, calling: Any) -> dict[str, bool]:
        await trio.lowlevel.checkpoint()
        return {"ok": True}


async def main(port: int, key: str, capacity: float, period: float, calls: int) -> None:
    import coredis

    from callboard import RedisLimiter, iModel

    async with coredis.Redis(host="127.0.0.1", port=port) as client:
        limiter = RedisLimiter(client, key, capacity, period)
        model = iModel(backend=Noop(), name="peer", limit_requests=limiter)
        with trio.fail_after(30):
            for _ in range(calls):
                await model.invoke(x=1)
    print(calls, flush=True)


if __name__ == "__main__":
    port, key, capacity, period, calls = sys.argv[1:6]
    trio.run(main, int(port), key, float(capacity), float(period), int(calls))
