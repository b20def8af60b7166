"""Shared bench helpers: processes started and stopped by pid, wrk runs, CPU accounting.

Every child asks the kernel for a signal when this script dies (``PR_SET_PDEATHSIG``), so a
bench interrupted by Ctrl-C or killed leaves no server behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

from hapair.store.embedded import death_signal_preexec, default_executable, free_port

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


def poll(fn: Callable[[], T], *, timeout: float, interval: float = 0.02, what: str = "") -> T:
    """Calls ``fn`` until it returns something truthy (exceptions count as "not yet")."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = fn()
        except Exception as exc:
            last = exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


class Proc:
    """A child process with its output in a log file, stopped by its pid."""

    def __init__(self, cmd: Sequence[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.cmd = list(cmd)
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                cwd=ROOT,
                preexec_fn=death_signal_preexec(signal.SIGTERM),  # noqa: PLW1509
            )
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def cpu_seconds(self) -> float:
        """utime + stime of the process (all its threads), from /proc."""
        raw = Path(f"/proc/{self.pid}/stat").read_text()
        fields = raw.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def native_modules(self, *names: str) -> list[str]:
        """Which of the named compiled modules (e.g. ``uvloop``, ``httptools``) the process has
        loaded, from /proc/PID/maps: proof of the server stack a bench measured."""
        maps = Path(f"/proc/{self.pid}/maps").read_text()
        return [name for name in names if f"/{name}/" in maps]

    def kill9(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.popen.kill()
        self.popen.wait()

    def stop(self, timeout: float = 10) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()

    def tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except FileNotFoundError:
            return ""


class Procs:
    """Every process a bench started; ``close()`` stops them all by pid, newest first."""

    def __init__(self, prefix: str = "hapair-bench-") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        self.items: list[Proc] = []

    def start(self, name: str, cmd: Sequence[str], env: dict[str, str] | None = None) -> Proc:
        proc = Proc(cmd, self.dir / f"{name}-{len(self.items)}.log", env)
        self.items.append(proc)
        return proc

    def close(self) -> None:
        for proc in reversed(self.items):
            proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Procs:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def wait_http(
    url: str, proc: Proc | None = None, *, timeout: float = 15, status: int = 200
) -> float:
    """Polls ``url`` until it answers ``status``; returns the seconds it took from the call."""
    start = time.monotonic()

    def ok() -> bool:
        if proc is not None and not proc.alive():
            raise SystemExit(f"{proc.cmd[:4]} exited {proc.popen.returncode}:\n{proc.tail()}")
        return httpx.get(url, timeout=1.0).status_code == status

    poll(ok, timeout=timeout, interval=0.01, what=url)
    return time.monotonic() - start


@dataclass
class Unit:
    """One ``hapair serve`` process."""

    proc: Proc
    direct: str  # host:port
    shared: str  # host:port

    @property
    def direct_url(self) -> str:
        return f"http://{self.direct}"

    @property
    def shared_url(self) -> str:
        return f"http://{self.shared}"


def hapair_args(
    data_dir: Path,
    *,
    mode: str,
    listen: str,
    partner: str,
    shared: str,
    pair_key: str,
    token: str,
    heartbeat: float = 0.5,
    extra: Sequence[str] = (),
) -> list[str]:
    return [
        sys.executable, "-m", "hapair", "serve",
        "--listen", listen,
        "--data-dir", str(data_dir),
        "--mode", mode,
        "--partner", partner,
        "--shared", shared,
        "--pair-key", pair_key,
        "--admin-token", token,
        "--heartbeat-interval", str(heartbeat),
        "--log-level", "warning",
        *extra,
    ]  # fmt: skip


def start_redis(procs: Procs, name: str = "redis") -> tuple[Proc, str]:
    """A redis-server (the bundled one hapair embeds) with the same persistence as hapair's."""
    directory = procs.dir / name
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = procs.start(
        name,
        [
            default_executable(),
            "--port", str(port),
            "--bind", "127.0.0.1",
            "--dir", str(directory),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "no",
        ],
    )  # fmt: skip

    def up() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    poll(up, timeout=10, what=f"redis on {port}")
    return proc, f"redis://127.0.0.1:{port}/0"


# --- wrk ---------------------------------------------------------------------------------

_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_REQS = re.compile(r"(\d+) requests in")
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_ERRORS = re.compile(r"Socket errors: (.*)")
_LAT = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)


@dataclass
class WrkResult:
    rps: float
    requests: int
    non2xx: int
    errors: str
    p50_ms: float
    p99_ms: float
    cpu_us_per_req: float  # the server's CPU time per request (user + system)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_wrk(
    url: str,
    *,
    server: Proc,
    duration: float,
    connections: int,
    threads: int = 1,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
) -> WrkResult:
    """One wrk run; the server's CPU seconds are read around it."""
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    cpu0 = server.cpu_seconds()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 30)
    out = done.stdout
    cpu1 = server.cpu_seconds()
    rps = float(_RPS.search(out).group(1))  # type: ignore[union-attr]
    requests = int(_REQS.search(out).group(1))  # type: ignore[union-attr]
    non2xx = int(m.group(1)) if (m := _NON2XX.search(out)) else 0
    errors = m.group(1) if (m := _ERRORS.search(out)) else ""
    lat = {p: _ms(v, u) for p, v, u in _LAT.findall(out)}
    return WrkResult(
        rps=rps,
        requests=requests,
        non2xx=non2xx,
        errors=errors,
        p50_ms=lat.get("50", float("nan")),
        p99_ms=lat.get("99", float("nan")),
        cpu_us_per_req=(cpu1 - cpu0) * 1e6 / max(requests, 1),
    )


def patch_script(
    directory: Path, token: str, *, field_name: str = "initial_wait_time", span: int = 180
) -> Path:
    """A wrk Lua script sending merge patches whose value changes on every request."""
    path = directory / "patch.lua"
    path.write_text(
        f"""
local n = 0
request = function()
  n = n + 1
  local body = '{{"{field_name}": ' .. (n % {span}) .. '}}'
  return wrk.format("PATCH", nil, {{
    ["Content-Type"] = "application/merge-patch+json",
    ["Authorization"] = "Bearer {token}",
  }}, body)
end
"""
    )
    return path


# --- summaries ---------------------------------------------------------------------------


@dataclass
class Series:
    """Interleaved measurements of one thing; the report uses medians."""

    name: str
    runs: list[WrkResult] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs)

    def ok_rps(self) -> float:
        """Median of the 2xx answers per second (wrk's requests/s also counts 412s etc.)."""
        return statistics.median(r.rps * (1 - r.non2xx / max(r.requests, 1)) for r in self.runs)

    def describe(self) -> str:
        rps = ", ".join(f"{r.rps:.0f}" for r in self.runs)
        bad = sum(r.non2xx for r in self.runs)
        errs = "; ".join(sorted({r.errors for r in self.runs if r.errors}))
        return (
            f"{self.name:<34} median {self.median('rps'):8.0f} req/s  "
            f"p50 {self.median('p50_ms'):6.2f} ms  p99 {self.median('p99_ms'):6.2f} ms  "
            f"cpu {self.median('cpu_us_per_req'):5.0f} us/req  runs [{rps}]"
            + (f"  non-2xx {bad} (2xx median {self.ok_rps():.0f}/s)" if bad else "")
            + (f"  socket errors {errs}" if errs else "")
        )


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def machine_note() -> str:
    """CPU count and load average, printed with every report (the machine is shared)."""
    load = Path("/proc/loadavg").read_text().split()[:3]
    return f"machine: {os.cpu_count()} CPUs, load average {' '.join(load)} (shared, noisy)"
