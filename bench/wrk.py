"""wrk runs with the server's CPU time per request, and interleaved series of them."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bench.common import Proc

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
