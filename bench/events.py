"""Event stream service levels (SPEC 7, issue 10): delivery latency and the cost of clients.

Run from the repository root: ``python -m bench.events [--writes 200] [--clients 200]``.

- latency: a lone unit (active, embedded Redis); ``N`` connected ``/ha/events`` clients (1,
  then 200), raw SSE over their own TCP connections; sequential PATCHes on the shared
  address, one every 20 ms. For every (client, revision): the time from the write's commit
  (the event's ``at``, milliseconds, same host clock) and from sending the write (an upper
  bound: it includes the request) until the event reached the client's socket, as the
  kernel stamped it (``SO_TIMESTAMPNS``), so the figure does not include this process
  getting round to 200 sockets.
- throughput: wrk PATCH on the shared address (``-c32``), with 0 and with 200 connected
  clients reading every event, interleaved 0, 200, 0, 200, ... (medians).

The clients run in this process, on the same 2 shared CPUs as the unit, its Redis and wrk: the
200-client figures include the cost of reading 200 copies of every event on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import secrets
import socket
import struct
import sys
import threading
import time
from collections import defaultdict
from datetime import datetime
from typing import Any

import httpx

from bench.common import (
    Procs,
    Series,
    machine_note,
    patch_script,
    percentile,
    poll,
    run_wrk,
    wrk_available,
)
from bench.throughput import start_hapair

PARAMS = "/api/v1/ha/parameters"
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux; the module may lack the name
_REVISION = re.compile(rb'data: \{"at":"[^"]*","revision":(\d+)')
EVENTS = "/api/v1/ha/events"


class Clients:
    """``n`` SSE clients in a background asyncio loop; arrival times per revision."""

    def __init__(self, url: str, token: str, n: int, *, parse: bool = True) -> None:
        self.parse = parse  # False: read and count bytes only (the throughput runs)
        self.url = httpx.URL(url)
        self.token = token
        self.n = n
        self.arrivals: dict[int, list[float]] = defaultdict(list)
        self.connected = 0
        self.received = 0
        self._loop = asyncio.new_event_loop()
        self._tasks: list[asyncio.Task[None]] = []
        self._socks: list[socket.socket] = []
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> Clients:
        self._thread.start()
        for _ in range(self.n):
            asyncio.run_coroutine_threadsafe(self._spawn(), self._loop).result(5)
        if self.n:
            poll(lambda: self.connected == self.n, timeout=30, what=f"{self.n} clients connected")
        return self

    async def _spawn(self) -> None:
        if self.parse:
            self._timestamped()
        else:
            self._tasks.append(asyncio.ensure_future(self._client()))

    def _timestamped(self) -> None:
        """A client whose arrival times are the kernel's (``SO_TIMESTAMPNS``): when the bytes
        reached the client's socket, whatever this process's loop is busy with."""
        sock = socket.create_connection((self.url.host, self.url.port or 80), timeout=5)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.sendall(
            f"GET {EVENTS}?types=revision HTTP/1.1\r\nHost: {self.url.host}\r\n"
            f"Authorization: Bearer {self.token}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            got = sock.recv(4096)
            assert got, "closed before the headers"
            head += got
        assert b" 200 " in head.split(b"\r\n", 1)[0], head
        sock.setblocking(False)
        pending = [head.split(b"\r\n\r\n", 1)[1]]
        self._socks.append(sock)

        def readable() -> None:
            try:
                data, anc, _flags, _addr = sock.recvmsg(1 << 16, socket.CMSG_SPACE(16))
            except BlockingIOError:
                return
            except OSError:
                self._loop.remove_reader(sock.fileno())
                return
            if not data:
                self._loop.remove_reader(sock.fileno())
                return
            at = time.time()
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", raw[:16])
                    at = sec + nsec / 1e9
            buf = pending[0] + data
            cut = buf.rfind(b"\n")
            pending[0] = buf[cut + 1 :]
            for rev in _REVISION.findall(buf[: cut + 1]):
                self.arrivals[int(rev)].append(at)
                self.received += 1

        self._loop.add_reader(sock.fileno(), readable)
        self.connected += 1

    async def _client(self) -> None:
        host, port = self.url.host, self.url.port or 80
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            f"GET {EVENTS}?types=revision HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {self.token}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        status = await reader.readline()
        assert b" 200 " in status, status
        while (await reader.readline()) not in (b"\r\n", b""):
            pass  # headers
        self.connected += 1
        try:
            while not self.parse:
                # a client that keeps up, reading what arrived every 50 ms in one go
                await asyncio.sleep(0.05)
                got = await reader.read(1 << 20)
                if not got:
                    return
                self.received += got.count(b"\ndata: ")
            while True:
                line = await reader.readline()
                if not line:
                    return
                # chunked transfer: SSE lines arrive inside chunks; find the data lines
                if line.startswith(b"data: "):
                    now = time.time()
                    data = json.loads(line[6:])
                    self.arrivals[int(data["revision"])].append(now)
                    self.received += 1
        finally:
            writer.close()

    def __exit__(self, *_: object) -> None:
        async def cancel() -> None:
            for t in self._tasks:
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        def close_socks() -> None:
            for sock in self._socks:
                self._loop.remove_reader(sock.fileno())
                sock.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(cancel(), self._loop).result(10)
        self._loop.call_soon_threadsafe(close_socks)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


def _epoch(at: str) -> float:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp()


def bench_latency(shared: str, token: str, n_clients: int, writes: int) -> dict[str, Any]:
    http = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=5)
    sent: dict[int, float] = {}
    committed: dict[int, float] = {}
    with Clients(shared, token, n_clients) as clients:
        for i in range(writes):
            t0 = time.time()
            r = http.patch(
                shared + PARAMS,
                json={"initial_wait_time": 1 + i % 179},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            r.raise_for_status()
            body = r.json()
            sent[body["revision"]] = t0
            committed[body["revision"]] = _epoch(body["updated_at"])
            time.sleep(0.02)  # pacing between writes, not a wait for state
        expected = writes * n_clients
        poll(
            lambda: sum(len(clients.arrivals[r]) for r in sent) >= expected,
            timeout=30,
            what=f"{expected} deliveries",
        )
        from_commit = [t - committed[r] for r in sent for t in clients.arrivals[r]]
        from_send = [t - sent[r] for r in sent for t in clients.arrivals[r]]
    http.close()
    return {"clients": n_clients, "from_commit": from_commit, "from_send": from_send}


def fmt(values: list[float]) -> str:
    v = [x * 1000 for x in values]
    return (
        f"p50 {percentile(v, 50):6.2f} ms  p99 {percentile(v, 99):6.2f} ms  "
        f"max {max(v):7.2f} ms  (n={len(v)})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--writes", type=int, default=200, help="writes per latency run")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    ns = parser.parse_args(argv)
    if not wrk_available():
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2
    token = "bench-" + secrets.token_hex(8)
    print(machine_note())
    with Procs() as procs:
        # every client and wrk connect from 127.0.0.1: one address's share of a listener
        # (--max-connections-per-client, 32 by default) would refuse most of them
        per_client = str(ns.clients + 64)
        limits = ["--max-connections", per_client, "--max-connections-per-client", per_client]
        unit, _direct, shared = start_hapair(procs, token, extra=limits)
        print("commit -> client latency of revision events (sequential writes, 20 ms apart):")
        for n in (1, ns.clients):
            res = bench_latency(shared, token, n, ns.writes)
            print(f"  {n:>3} client(s), from the commit (`at`):  {fmt(res['from_commit'])}")
            print(f"  {n:>3} client(s), from sending the write: {fmt(res['from_send'])}")
        script = patch_script(procs.dir, token)
        series = {0: Series("PATCH, 0 event clients"), ns.clients: Series("PATCH, N clients")}
        series[ns.clients].name = f"PATCH, {ns.clients} event clients"
        run_wrk(shared + PARAMS, server=unit, duration=1, connections=32, script=script)
        delivered = 0
        for rnd in range(ns.rounds):
            order = (0, ns.clients) if rnd % 2 == 0 else (ns.clients, 0)
            for n in order:
                with Clients(shared, token, n, parse=False) as clients:
                    run = run_wrk(
                        shared + PARAMS,
                        server=unit,
                        duration=ns.duration,
                        connections=32,
                        script=script,
                    )
                    series[n].runs.append(run)
                    delivered += clients.received
        print("write throughput (wrk -t1 -c32 PATCH on the shared address):")
        for s in series.values():
            print("  " + s.describe())
        ratio = series[ns.clients].ok_rps() / series[0].ok_rps()
        print(
            f"  with {ns.clients} clients / without: {ratio:.2f} "
            f"(target >= 0.90: {'OK' if ratio >= 0.9 else 'MISSED'}); "
            f"events delivered to the clients during those runs: {delivered}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
