"""Tracks: parsing ``--track``, the fall/rise hysteresis, and each kind of check against real
processes, sockets and files."""

from __future__ import annotations

import asyncio
import functools
import http.server
import os
import socket
import sys
import threading
from pathlib import Path

import pytest

from hapair.domain.tracks import TrackError, TrackHealth, TrackSpec, observe, parse_track
from hapair.engine.core import machine as m
from hapair.engine.tracks import Tracks
from hapair.settings import SettingsRefused, from_flags


def test_parse_track_defaults() -> None:
    spec = parse_track("web:http:http://127.0.0.1:8081/health")
    assert spec == TrackSpec(
        name="web", kind="http", target="http://127.0.0.1:8081/health",
        interval=2.0, timeout=2.0, fall=3, rise=2,
    )  # fmt: skip


def test_parse_track_options_and_targets_with_colons_and_commas() -> None:
    spec = parse_track("lb:tcp:[2001:db8::1]:443,interval=0.5,fall=2,rise=1")
    assert (spec.target, spec.interval, spec.timeout, spec.fall, spec.rise) == (
        "[2001:db8::1]:443", 0.5, 0.5, 2, 1,
    )  # fmt: skip
    spec = parse_track("chk:exec:/bin/sh -c 'exit 0,1',timeout=1")
    assert spec.target == "/bin/sh -c 'exit 0,1'" and spec.timeout == 1.0
    assert parse_track("gw:ping:192.0.2.1").target == "192.0.2.1"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("web", "expected NAME:KIND:TARGET"),
        ("web:http", "expected NAME:KIND:TARGET"),
        ("web:smtp:x", "kind 'smtp' is not one of exec, http, tcp, interface, process, ping"),
        ("web:http:", "the target is empty"),
        ("w b:tcp:h:1", "a name is 1 to 32"),
        ("web:tcp:localhost", "HOST:PORT"),
        ("web:tcp:h:70000", "HOST:PORT"),
        ("web:http:ftp://x", "http:// or https:// URL"),
        ("gw:ping:gateway", "IPv4 or IPv6 address"),
        ("if:interface:a/b", "not an interface name"),
        ("p:process:/usr/sbin/haproxy", "a process name"),
        ("x:exec:'unclosed", "does not split"),
        ("web:tcp:h:1,fall=0", "fall must be an integer from 1 to 100"),
        ("web:tcp:h:1,interval=fast", "interval must be seconds from 0.05 to 3600"),
        ("web:tcp:h:1,interval=1,interval=2", "interval is given twice"),
    ],
)
def test_parse_track_refuses_with_one_line(text: str, words: str) -> None:
    with pytest.raises(TrackError) as exc:
        parse_track(text)
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_serve_refuses_a_bad_track_and_two_of_one_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import argparse

    from hapair.settings import add_serve_flags

    p = argparse.ArgumentParser()
    add_serve_flags(p)
    with pytest.raises(SystemExit) as exited:  # a bad value: refused as the flags are parsed
        p.parse_args(["--track", "a:dns:x"])
    assert exited.value.code == 2
    assert "kind 'dns'" in capsys.readouterr().err
    with pytest.raises(SettingsRefused, match="two tracks have this name"):
        from_flags(p.parse_args(["--track", "a:tcp:h:1", "--track", "a:tcp:h:2"]))
    ok = from_flags(p.parse_args(["--track", "a:tcp:h:1", "--track", "b:interface:lo"]))
    assert [t.name for t in ok.tracks] == ["a", "b"]


def test_hysteresis_first_result_then_fall_and_rise() -> None:
    spec = TrackSpec(name="t", kind="tcp", target="h:1", fall=3, rise=2)
    h = observe(spec, TrackHealth(), True, "up")
    assert h.ok is True
    for _ in range(2):
        h = observe(spec, h, False, "down")
        assert h.ok is True  # fewer than fall failures in a row
    h = observe(spec, h, True, "up")  # a good one resets the run
    for _ in range(3):
        h = observe(spec, h, False, "down")
    assert h.ok is False and h.detail == "down"
    h = observe(spec, h, True, "up")
    assert h.ok is False
    h = observe(spec, h, True, "up")
    assert h.ok is True
    assert observe(spec, TrackHealth(), False, "down").ok is False  # known at once at boot


def check(spec: TrackSpec, tracks: Tracks | None = None) -> tuple[bool, str]:
    return asyncio.run((tracks or Tracks((spec,))).check(spec))


def test_exec_check_without_a_shell_and_bounded_by_its_timeout(tmp_path: Path) -> None:
    ok = TrackSpec(name="e", kind="exec", target=f"{sys.executable} -c 'import sys'")
    assert check(ok) == (True, "exit 0")
    bad = TrackSpec(
        name="e", kind="exec", target=f"{sys.executable} -c 'import sys; sys.exit(\"boom\")'"
    )
    assert check(bad) == (False, "exit 1: boom")
    marker = tmp_path / "ran"
    literal = TrackSpec(name="e", kind="exec", target=f"test -e {marker};true")
    assert check(literal)[0] is False  # no shell: ';' is part of an argument
    missing = TrackSpec(name="e", kind="exec", target="/no/such/program")
    assert check(missing) == (False, "No such file or directory")
    slow = TrackSpec(name="e", kind="exec", target="sleep 30", timeout=0.3)
    started = asyncio.run(_timed(Tracks((slow,)), slow))
    assert started[0] == (False, "no answer within 0.3 s") and started[1] < 5


async def _timed(tracks: Tracks, spec: TrackSpec) -> tuple[tuple[bool, str], float]:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    result = await tracks.check(spec)
    return result, loop.time() - t0


def test_tcp_check_against_a_real_listener() -> None:
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        assert check(TrackSpec(name="t", kind="tcp", target=f"127.0.0.1:{port}")) == (
            True,
            "connected",
        )
    good, detail = check(TrackSpec(name="t", kind="tcp", target=f"127.0.0.1:{port}"))
    assert not good and "refused" in detail.lower()


def test_http_check_against_a_real_server() -> None:
    """2xx is healthy, anything else is not, and a server that does not answer within the
    track's timeout fails it (a real HTTP server on loopback, in a thread)."""
    release = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/slow":
                release.wait(10)  # held until the test is done with it
            code = {"/ok": 204, "/bad": 503, "/moved": 302}.get(self.path, 404)
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            del args

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        spec = functools.partial(TrackSpec, name="h", kind="http", timeout=0.5)
        assert check(spec(target=f"{base}/ok")) == (True, "HTTP 204")
        assert check(spec(target=f"{base}/bad")) == (False, "HTTP 503")
        assert check(spec(target=f"{base}/moved")) == (False, "HTTP 302")  # not followed
        good, detail = check(spec(target=f"{base}/slow"))
        assert (good, detail) == (False, "no answer within 0.5 s")  # the track's own bound
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
    good, detail = check(TrackSpec(name="h", kind="http", target=f"{base}/ok", timeout=0.5))
    assert not good and "ConnectError" in detail, detail


def test_interface_and_process_checks(tmp_path: Path) -> None:
    assert check(TrackSpec(name="i", kind="interface", target="lo"))[0]
    assert check(TrackSpec(name="i", kind="interface", target="nosuchif0")) == (
        False,
        "no such interface",
    )
    me = Path(f"/proc/{os.getpid()}/comm").read_text().strip()
    assert check(TrackSpec(name="p", kind="process", target=me))[0]
    assert check(TrackSpec(name="p", kind="process", target="no-such-proc")) == (
        False,
        "not running",
    )


def test_ping_check_loopback() -> None:
    assert check(TrackSpec(name="g", kind="ping", target="127.0.0.1", timeout=2)) == (
        True,
        "answers",
    )


def test_checks_report_changes_as_events(tmp_path: Path) -> None:
    flag = tmp_path / "up"
    flag.touch()
    spec = TrackSpec(name="f", kind="exec", target=f"test -e {flag}", interval=0.05, fall=2, rise=1)
    events: list[m.Event] = []

    async def scenario() -> None:
        tracks = Tracks((spec,))
        tracks.start(events.append, lambda: 0.0)
        await _until(lambda: len(events) == 1)
        flag.unlink()
        await _until(lambda: any(isinstance(e, m.TrackChanged) and not e.ok for e in events))
        flag.touch()
        await _until(lambda: isinstance(events[-1], m.TrackChanged) and events[-1].ok)
        await tracks.stop()

    asyncio.run(scenario())
    oks = [e.ok for e in events if isinstance(e, m.TrackChanged)]
    assert oks[0] is True and oks[-1] is True and False in oks
    assert oks.index(False) >= 1


async def _until(cond: object, within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not cond():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
