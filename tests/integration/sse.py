"""An SSE client for ``GET /api/v1/ha/events`` (httpx-sse): :class:`Follower` follows the stream
in a thread and collects its events as they arrive."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, connect_sse

from tests.integration.conftest import ADMIN_TOKEN
from tests.support import poll

EVENTS = "/api/v1/ha/events"


class Follower:
    """A client following the stream in a thread; its events are collected as they arrive."""

    def __init__(
        self,
        base: str,
        token: str = ADMIN_TOKEN,
        *,
        last_id: str | None = None,
        params: dict[str, str] | None = None,
    ) -> None:
        self.events: list[ServerSentEvent] = []
        self.connected = threading.Event()
        self.ended = threading.Event()
        self.error: BaseException | None = None
        self._stop = False
        self._socket: socket.socket | None = None
        headers = {"Authorization": f"Bearer {token}"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=30.0))
        self._args = (f"{base}{EVENTS}", headers, params or {})
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self.connected.wait(10), f"not connected: {self.error!r}"

    def _run(self) -> None:
        url, headers, params = self._args
        try:
            with connect_sse(self._client, "GET", url, headers=headers, params=params) as src:
                assert src.response.status_code == 200, src.response.read()
                stream = src.response.extensions["network_stream"]
                self._socket = stream.get_extra_info("socket")
                self.connected.set()
                for sse in src.iter_sse():
                    if self._stop:
                        return
                    self.events.append(sse)
        except BaseException as exc:  # reported by the test (the thread cannot raise)
            self.error = exc
        finally:
            self.connected.set()
            self.ended.set()

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [json.loads(e.data) for e in self.events if e.event == type_]

    def revisions(self) -> list[int]:
        return [d["revision"] for d in self.of("revision")]

    def wait_revisions(self, expected: list[int], timeout: float = 5) -> None:
        poll(
            lambda: (
                self.revisions()[: len(expected)] == expected
                and len(self.revisions()) >= len(expected)
            ),
            timeout=timeout,
            what=f"revisions {expected} (have {self.revisions()})",
        )

    def abandon(self) -> None:
        """Drops the client the way an application that closes its HTTP client from another
        thread does: the reading thread stays blocked in ``recv`` until the next bytes arrive
        (a keepalive), and only then does the unit see the connection go."""
        self._stop = True
        self._client.close()
        self._thread.join(5)

    def close(self) -> None:
        """Ends the stream at once: the reading thread is blocked in ``recv`` until something
        arrives, so its socket is shut down under it (closing the client does not wake it)."""
        self._stop = True
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        assert not self._thread.is_alive(), "the follower's thread did not end"
        self._client.close()
