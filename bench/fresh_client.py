"""A client that opens a new connection to the shared address every 5 ms without waiting for
the earlier ones (issue 23 point 2), run by ``bench/failover.py`` in the client's namespace as
its own process (in the bench's process its event loop took the GIL from the probers' threads,
and their figures moved by up to 0.2 s).

``python -m bench.fresh_client HOST PORT TOKEN NAME TIMEOUT`` prints the wall-clock time of the
first ``GET /api/v1/unit`` answered 200 naming ``NAME``, or nothing within ``TIMEOUT`` seconds.
The bench's four probers each wait up to 0.3 s on a connection that a frozen host's kernel
accepted, so their first answer after a SIGSTOP measures that wait, not the new active."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time

PERIOD = 0.005  # the client's request rate (a new connection each), not a wait for a state


async def first_answer(host: str, port: int, token: str, name: str, within: float) -> float:
    request = (
        f"GET /api/v1/unit HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    answers: list[float] = []

    async def one() -> None:
        with contextlib.suppress(OSError, asyncio.TimeoutError, ValueError):
            async with asyncio.timeout(0.3):
                reader, writer = await asyncio.open_connection(host, port)
                try:
                    writer.write(request)
                    raw = await reader.read()
                finally:
                    writer.close()
            head, _, body = raw.partition(b"\r\n\r\n")
            if head.startswith(b"HTTP/1.1 200") and json.loads(body).get("name") == name:
                answers.append(time.time())

    tasks: set[asyncio.Task[None]] = set()
    end = time.monotonic() + within
    while not answers and time.monotonic() < end:
        task = asyncio.create_task(one())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        await asyncio.sleep(PERIOD)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return min(answers) if answers else 0.0


def main() -> int:
    host, port, token, name, timeout = sys.argv[1:6]
    at = asyncio.run(first_answer(host, int(port), token, name, float(timeout)))
    if at:
        print(f"{at:.6f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
