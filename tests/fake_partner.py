"""A fake partner unit for the trust tests: ``python -m tests.fake_partner --listen HOST:PORT``.

It records every call it receives (one JSON line each: path, the ``x-hapair-*`` headers, the
body) and answers heartbeats with a forged one: ``second``, role ``active``, a higher revision,
an earlier boot and the Redis URL it is given. ``--answer`` picks the forgery:

- ``unsigned``: no signature at all;
- ``wrong-key``: signed exactly as hapair signs answers, but under another key;
- ``pair-key``: signed with the real pair key (``--pair-key``) for the pair whose shared address
  is ``--shared`` (a partner that holds the key but advertises a Redis that is not on its host).

``GET /`` answers 200 once it listens (the test's readiness probe).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from hapair.domain.parameters import auto_virtual_id
from hapair.domain.version import PROTOCOL
from hapair.engine.pairlink import pairauth
from hapair.engine.pairlink.messages import DemoteReply, Heartbeat, encoder

WRONG_KEY = "not-the-pair-key-0123456789abcdef"


def main() -> None:
    """Serves until SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--answer", choices=["unsigned", "wrong-key", "pair-key"], required=True)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--pair-key", default="")
    parser.add_argument("--shared", default="")
    ns = parser.parse_args()
    host, _, port = ns.listen.rpartition(":")
    record = Path(ns.record)
    lock = threading.Lock()
    key = {"wrong-key": WRONG_KEY, "pair-key": ns.pair_key}.get(ns.answer)
    pair = pairauth.pair_id(ns.shared, auto_virtual_id(ns.shared)) if ns.shared else ""
    signer = pairauth.PairAuth(key, "second", pair=pair) if key else None

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._reply(200, b"fake partner\n", {})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            seen = {k.lower(): v for k, v in self.headers.items() if k.lower().startswith("x-")}
            with lock, record.open("a") as out:
                out.write(json.dumps({"path": self.path, "headers": seen, "body": body.decode()}))
                out.write("\n")
            if self.path.endswith("/heartbeat"):
                answer = encoder.encode(
                    Heartbeat(
                        unit="second",
                        mode="second",
                        role="active",
                        boot_id="f" * 32,
                        revision=99,
                        redis_url=ns.redis_url,
                        address=ns.listen,
                        sent_at=time.time(),
                        protocol=PROTOCOL,
                    )
                )
            else:
                answer = encoder.encode(DemoteReply(revision=99, demoted=True))
            headers: dict[str, str] = {}
            if signer is not None:
                nonce = seen.get(pairauth.NONCE_HEADER, "0" * 32)
                headers = signer.sign_answer("POST", self.path, nonce, answer)
            self._reply(200, answer, headers)

        def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
