"""A listener at idle wakes once a second, not ten times (issue 23's idle cost), still serves a
Date header, and a stop wakes it at once."""

from __future__ import annotations

import asyncio
import socket

import httpx

from hapair.engine.listener import Listener


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_idle_listener_ticks_once_a_second_and_stops_at_once() -> None:
    async def run() -> tuple[int, str, bool]:
        listener = Listener(app, "127.0.0.1", free_port())
        await listener.start()
        server = listener._server
        assert server is not None
        ticks = 0
        on_tick = server.on_tick

        async def counted(counter: int) -> bool:
            nonlocal ticks
            ticks += 1
            return await on_tick(counter)

        server.on_tick = counted  # type: ignore[method-assign]
        await asyncio.sleep(3)  # 3 s of idle: the window the ticks are counted over
        async with httpx.AsyncClient() as client:
            r = await client.get(f"http://127.0.0.1:{listener.port}/")
        date = r.headers.get("date", "")
        task = listener._task
        await listener.stop()
        return ticks, date, task is not None and task.done()

    ticks, date, stopped = asyncio.run(asyncio.wait_for(run(), 30))
    assert ticks <= 6, ticks  # uvicorn's own loop: about 30 in 3 s
    assert date.endswith("GMT"), date
    assert stopped
