"""The partner client's transport (engine/pairlink/partner_http.py) against a real uvicorn server on
loopback, served the way hapair serves (httptools): kept-alive connections reused, a connection
the server closed while idle replaced without losing the call, answers chunked or not, and
every call bounded by its timeout."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn

from hapair.engine.pairlink import partner_http
from hapair.engine.pairlink.partner_http import PartnerHTTP, TransportError


async def app(scope, receive, send):  # type: ignore[no-untyped-def]
    assert scope["type"] == "http"
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]
    headers = [(b"x-echo-" + k, v) for k, v in scope["headers"] if k.startswith(b"x-")]
    if path == "/slow":
        await asyncio.sleep(5)  # the client's timeout is what the test is about
    if path == "/chunked":
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for part in (b"one,", b"two,", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/big":
        body = b"x" * (partner_http.MAX_BODY + 1)
    status = 401 if path == "/refuse" else 200
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def server(keep_alive: float = 5) -> AsyncIterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, http="httptools", lifespan="off", log_level="error", timeout_keep_alive=keep_alive
    )
    srv = uvicorn.Server(config)
    task = asyncio.create_task(srv.serve(sockets=[sock]))
    try:
        while not srv.started:  # noqa: ASYNC110 (uvicorn's Server has no event to wait on)
            await asyncio.sleep(0.01)
        yield f"127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        await task
        sock.close()


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_calls_share_one_kept_connection() -> None:
    async def main() -> None:
        async with server() as address:
            http = PartnerHTTP(address, ssl_context=None, timeout=2)
            for i in range(20):
                answer = await http.post("/echo", b"body %d" % i, {"x-n": str(i)})
                assert answer.status == 200
                assert answer.content == b"body %d" % i
                assert answer.headers["x-echo-x-n"] == str(i)
            refused = await http.post("/refuse", b"", {})
            assert refused.status == 401
            assert http.opened == 1  # 21 calls, one connection
            await http.close()

    run(main())


def test_a_connection_closed_while_idle_is_replaced_and_the_call_goes_through() -> None:
    async def main() -> None:
        async with server(keep_alive=0.2) as address:
            http = PartnerHTTP(address, ssl_context=None, timeout=2)
            assert (await http.post("/echo", b"1", {})).content == b"1"
            idle = http._idle[0]
            deadline = asyncio.get_running_loop().time() + 10
            while not idle.reader.at_eof():  # the server's keep-alive timeout closes it
                assert asyncio.get_running_loop().time() < deadline, "server never closed it"
                await asyncio.sleep(0.02)
            assert (await http.post("/echo", b"2", {})).content == b"2"
            assert http.opened == 2
            await http.close()

    run(main())


def test_chunked_answer() -> None:
    async def main() -> None:
        async with server() as address:
            http = PartnerHTTP(address, ssl_context=None, timeout=2)
            answer = await http.post("/chunked", b"", {})
            assert (answer.status, answer.content) == (200, b"one,two,three")
            assert (await http.post("/echo", b"after", {})).content == b"after"
            assert http.opened == 1
            await http.close()

    run(main())


def test_timeout_bounds_the_call_and_the_connection_is_not_reused() -> None:
    async def main() -> None:
        async with server() as address:
            http = PartnerHTTP(address, ssl_context=None, timeout=2)
            loop = asyncio.get_running_loop()
            start = loop.time()
            with pytest.raises(TransportError, match="timed out"):
                await http.post("/slow", b"", {}, wait=0.3)
            assert loop.time() - start < 3  # bounded by the call's timeout, not the answer
            assert http._idle == []
            assert (await http.post("/echo", b"next", {})).content == b"next"
            assert http.opened == 2
            await http.close()

    run(main())


def test_oversized_answer_and_no_listener_are_transport_errors() -> None:
    async def main() -> None:
        async with server() as address:
            http = PartnerHTTP(address, ssl_context=None, timeout=5)
            with pytest.raises(TransportError, match="too large"):
                await http.post("/big", b"", {})
            await http.close()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()  # nothing listens there now
        http = PartnerHTTP(f"127.0.0.1:{port}", ssl_context=None, timeout=2)
        with pytest.raises(TransportError, match=r"ConnectionRefused|Errno"):
            await http.post("/echo", b"", {})

    run(main())
