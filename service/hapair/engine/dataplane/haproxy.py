"""The unit's HAProxy, through its master CLI socket (``haproxy -W -S PATH``), and the peers
file hapair writes for it. Every call is bounded by a timeout; files are written by
write-and-rename, so HAProxy never reads half a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from pathlib import Path

TIMEOUT_S = 5.0
_MAX_ANSWER = 1 << 20


class HAProxyError(Exception):
    """HAProxy could not be reached or refused; the message says why, for a person."""


async def command(socket_path: str, line: str, *, limit_s: float = TIMEOUT_S) -> str:
    """Sends one command to the master CLI and returns its whole answer.

    The write side is closed after the command: HAProxy 2.6's master CLI answers a
    non-interactive client and closes, but after a ``reload`` it waits for the client's end
    of input first.

    Raises:
        HAProxyError: The socket does not answer within ``limit_s``, or refuses.
    """
    try:
        async with asyncio.timeout(limit_s):
            reader, writer = await asyncio.open_unix_connection(socket_path)
            try:
                writer.write(line.encode() + b"\n")
                await writer.drain()
                if writer.can_write_eof():
                    writer.write_eof()
                chunks: list[bytes] = []
                size = 0
                while size < _MAX_ANSWER:
                    chunk = await reader.read(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except TimeoutError:
        what = f"HAProxy's master socket {socket_path} did not answer within {limit_s:g} s"
        raise HAProxyError(what) from None
    except OSError as exc:
        what = f"HAProxy's master socket {socket_path}: {exc.strerror or exc}"
        raise HAProxyError(what) from None
    return b"".join(chunks).decode(errors="replace")


def failed_reloads(show_proc: str) -> int | None:
    """The master's count of failed reloads in ``show proc`` (``1 [failed: 0]``)."""
    m = re.search(r"\[failed:\s*(\d+)\]", show_proc)
    return int(m.group(1)) if m else None


async def reload(socket_path: str, *, limit_s: float = TIMEOUT_S) -> None:
    """Reloads HAProxy (it re-reads its files) and waits until the master answers again.

    The master re-executes itself on ``reload``: its socket refuses connections for a moment,
    so the answer is awaited until ``limit_s`` has passed.

    Raises:
        HAProxyError: The master did not answer, or counts one more failed reload (the new
            configuration did not load: HAProxy's own log says why).
    """
    before = failed_reloads(await command(socket_path, "show proc", limit_s=limit_s))
    await command(socket_path, "reload", limit_s=limit_s)
    deadline = time.monotonic() + limit_s
    while True:
        try:
            after = failed_reloads(await command(socket_path, "show proc", limit_s=limit_s))
            break
        except HAProxyError:
            if time.monotonic() >= deadline:
                raise
            await asyncio.sleep(0.05)
    if before is not None and after is not None and after > before:
        raise HAProxyError(
            "HAProxy did not load the new configuration (a failed reload: see HAProxy's log)"
        )


async def show_peers(socket_path: str, *, limit_s: float = TIMEOUT_S) -> str:
    """``show peers`` of the current worker (``@1`` on the master CLI)."""
    return await command(socket_path, "@1 show peers", limit_s=limit_s)


def read_text(path: Path) -> str | None:
    """The file's text, or None when it cannot be read."""
    try:
        return path.read_text()
    except (OSError, UnicodeDecodeError):
        return None
