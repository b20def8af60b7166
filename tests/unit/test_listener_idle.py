"""A listener at idle wakes once a second, not ten times (issue 23's idle cost), still serves a
Date header, and a stop wakes it at once."""

from __future__ import annotations

import asyncio
import socket

import httpx
import uvicorn

from hapair.server.listener import Listener, _Server


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


def test_a_cancelled_main_loop_ends_even_when_it_was_just_woken() -> None:
    """The listener's main loop cancelled in the turn its wake-up completes ends. With
    ``asyncio.wait_for`` on Python 3.11 the cancellation was lost then and the loop went on (the
    data plane worker's stop hang, found by the in-process tier, had the same cause)."""

    async def run() -> None:
        server = _Server(uvicorn.Config(app))

        async def idle(counter: int) -> bool:
            return False

        server.on_tick = idle  # type: ignore[method-assign]
        task = asyncio.create_task(server.main_loop())
        await asyncio.sleep(0.05)  # the loop waits for its wake-up
        assert server._wake is not None
        server._wake.set()  # its wait completes in the next loop turn...
        task.cancel()  # ...the turn its cancellation lands in
        # a hang detector, not a stopwatch: the loop ends at its next step
        done, _ = await asyncio.wait({task}, timeout=3)
        assert task in done, "the cancelled main loop went on (its cancellation was lost)"
        assert task.cancelled()

    asyncio.run(run())
