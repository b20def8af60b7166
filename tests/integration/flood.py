"""A connection flood against a real unit: clients that pipeline requests for the 1.5 MB docs
bundle and never read, from one or many loopback source addresses (SPEC 6 "Limits", 7).
"""

from __future__ import annotations

import re
import socket
import subprocess
from dataclasses import dataclass, field

BUNDLE = "/docs/static/swagger-ui-bundle.js"
PIPELINED = 8  # requests per connection, sent at once, never read


def _request(host: str) -> bytes:
    return f"GET {BUNDLE} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


@dataclass
class Flooder:
    """Holds connections to ``host:port`` from ``sources``: each one pipelines ``PIPELINED``
    requests for the docs bundle and reads nothing (a 4 KiB receive buffer, so the unit's
    writes stall at once)."""

    host: str
    port: int
    sources: list[str]
    per_source: int
    held: list[socket.socket] = field(default_factory=list)
    refused: int = 0  # connections the unit answered and closed at once (its budget full)

    def open_one(self, source: str) -> socket.socket | None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(2)
        try:
            sock.bind((source, 0))
            sock.connect((self.host, self.port))
            sock.sendall(_request(self.host) * PIPELINED)
        except OSError:
            sock.close()
            return None
        return sock

    def fill(self) -> None:
        """Tops every source up to ``per_source`` live connections (dropped ones replaced)."""
        live = []
        for sock in self.held:
            if alive(sock):
                live.append(sock)
            else:
                sock.close()
        self.held = live
        counts = dict.fromkeys(self.sources, 0)
        for sock in self.held:
            counts[sock.getsockname()[0]] += 1
        for source, n in counts.items():
            for _ in range(self.per_source - n):
                sock = self.open_one(source)
                if sock is not None:
                    self.held.append(sock)

    def close(self) -> None:
        for sock in self.held:
            sock.close()
        self.held = []


def alive(sock: socket.socket) -> bool:
    """Whether the unit still holds this connection: a byte can still be sent on it (after the
    unit's abort the kernel answers the reset: the send fails). The byte joins the pipelined
    stream, which the unit no longer reads."""
    try:
        sock.send(b"\r")
        sock.send(b"\n")
    except OSError:
        return False
    return True


def served_by(host: str, port: int, source: str) -> bytes:
    """The status line a fresh connection from ``source`` gets for ``GET /healthz``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.bind((source, 0))
        sock.connect((host, port))
        sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer


_SKMEM = re.compile(r"skmem:\(r\d+,rb\d+,t\d+,tb(\d+),f\d+,w(\d+)")


def send_buffers(host: str, port: int) -> list[tuple[int, int]]:
    """(bytes queued, send buffer size) of each established connection the unit accepted on
    ``host:port``, from ``ss`` (the kernel's own accounting)."""
    out = subprocess.run(
        ["ss", "-Htnm", "state", "established", "src", f"{host}:{port}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout
    return [(int(m.group(2)), int(m.group(1))) for m in _SKMEM.finditer(out)]
