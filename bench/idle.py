"""What one paired unit costs at idle (SPEC 7 "idle cost", issue 23 point 5), and where it goes.

Run from the repository root: ``python -m bench.idle [--seconds 60] [--loopback]``.

A pair as ``bench/failover.py`` starts it (as root: two network-namespace hosts, the shared
address a virtual IP on eth0; else loopback), heartbeat 1 s (the default), each unit with its
embedded Valkey. Once the pair has settled and rested ``--rest`` s:

- **RSS** (``VmRSS``) of each hapair process and of its Redis;
- **wake-ups** (voluntary context switches, ``/proc/PID/task/*/status``) a second;
- **CPU** (utime + stime from ``/proc/PID/stat``) over ``--seconds``, per process and per
  thread of the hapair process (``/proc/PID/task``: the event loop, the netlink and announce
  threads, ...);
- **imports** (``--imports``): the units run with ``PYTHONPROFILEIMPORTTIME=1``; what they
  imported, grouped by top-level package (modules, import time), and the RSS a fresh
  interpreter holds after importing each of those packages in the same order;
- **mappings** (``--maps``): each hapair process's RSS by mapping (the heap, anonymous
  memory, each shared library) from ``/proc/PID/smaps``;
- **tasks** (``--profile``): the units run under ``bench/profiled.py``, a cProfile window over
  the same ``--seconds`` on the event loop's thread; the functions with the most cumulative
  time and their calls per second.

Only the measurement windows themselves sleep; every wait for a state polls with a deadline.
"""

from __future__ import annotations

import argparse
import os
import pstats
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from bench.common import Procs, machine_note, poll
from bench.failover import Site, children, cpu_s, netns_usable, rss_mb

CLK_TCK = os.sysconf("SC_CLK_TCK")
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread of ``pid``, by thread name (``comm``) and id."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            raw = (task / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw.rpartition(")")[2].split()
        out[f"{name}/{task.name}"] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def wakeups(pid: int) -> int:
    """Voluntary context switches of all of ``pid``'s threads so far: each is a sleep the
    process woke from (a timer, a socket, a thread hand-off). On these virtual machines each
    costs about 0.1-0.2 ms of CPU whatever it wakes for (issue 23)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except OSError:
            continue
        total += int(status.split("voluntary_ctxt_switches:")[1].split()[0])
    return total


def imports_of(log: Path) -> list[tuple[str, int, int]]:
    """The ``-X importtime`` lines of a log: (module, self us, nesting depth)."""
    found = []
    for line in log.read_text(errors="replace").splitlines():
        m = IMPORT_LINE.search(line)
        if m and m.group(4) != "imported":
            found.append((m.group(4), int(m.group(1)), len(m.group(3)) // 2))
    return found


def by_package(imports: list[tuple[str, int, int]]) -> list[tuple[str, int, float]]:
    """Per top-level package, in first-import order: (package, modules, seconds of import)."""
    order: list[str] = []
    count: dict[str, int] = defaultdict(int)
    self_us: dict[str, int] = defaultdict(int)
    for module, us, _depth in imports:
        top = module.split(".")[0]
        if top not in count:
            order.append(top)
        count[top] += 1
        self_us[top] += us
    return [(top, count[top], self_us[top] / 1e6) for top in order]


RSS_SCRIPT = """
import importlib, sys
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
print(f'start {rss():.1f} {len(sys.modules)}', flush=True)
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as exc:
        print(f'{name} failed {exc!r}', flush=True)
        continue
    print(f'{name} {rss():.1f} {len(sys.modules)}', flush=True)
"""


def rss_after_each(modules: list[str]) -> list[tuple[str, float, int]]:
    """A fresh interpreter imports ``modules`` in order: (module, RSS MB after, modules)."""
    out = subprocess.run(
        [sys.executable, "-c", RSS_SCRIPT, *modules],
        capture_output=True, text=True, check=True, env=os.environ,
    ).stdout  # fmt: skip
    rows = []
    for row in out.splitlines():
        parts = row.split()
        if len(parts) == 3:
            rows.append((parts[0], float(parts[1]), int(parts[2])))
    return rows


def added_by_package(imports: list[tuple[str, int, int]]) -> tuple[float, dict[str, float], float]:
    """A fresh interpreter imports the unit's modules one by one in the unit's order (the
    innermost first, as ``-X importtime`` lists them): the interpreter's RSS before, the RSS
    each top-level package added, and the RSS after all."""
    rows = rss_after_each([module for module, _, _ in imports])
    start = prev = rows[0][1]
    added: dict[str, float] = defaultdict(float)
    for module, mb, _n in rows[1:]:
        added[module.split(".")[0]] += mb - prev
        prev = mb
    return start, added, prev


def print_imports(log: Path) -> None:
    imports = imports_of(log)
    packages = by_package(imports)
    total = sum(s for _, _, s in packages)
    start, added, end = added_by_package(imports)
    print(f"\nimports of the running unit ({log.name}): {len(imports)} modules, {total:.2f} s "
          f"of import; a fresh interpreter importing the same modules in the same order: "
          f"{start:.1f} MB before, {end:.1f} MB after")  # fmt: skip
    print("| package | modules | import time | RSS added |")
    print("| --- | --- | --- | --- |")
    rest = [0, 0.0, 0.0]
    for top, n, secs in sorted(packages, key=lambda p: -added.get(p[0], 0.0)):
        mb = added.get(top, 0.0)
        if mb >= 0.4 or secs >= 0.1:
            print(f"| {top} | {n} | {secs * 1000:.0f} ms | {mb:.1f} MB |")
        else:
            rest[0] += n
            rest[1] += secs
            rest[2] += mb
    print(f"| everything else | {rest[0]} | {rest[1] * 1000:.0f} ms | {rest[2]:.1f} MB |")


def print_profile(path: Path, seconds: float, top: int = 30) -> None:
    stats = pstats.Stats(str(path))
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in raw.values())
    print(f"\ncProfile {path.name}: {total:.3f} s of the loop thread's CPU in {seconds:.0f} s")
    print("| function | calls/s | cumulative ms/s | own ms/s |")
    print("| --- | --- | --- | --- |")
    rows = sorted(raw.items(), key=lambda kv: kv[1][3], reverse=True)
    shown = 0
    for (file, line, fn), (_cc, nc, tt, ct, _callers) in rows:
        if shown >= top:
            break
        where = f"{Path(file).parent.name}/{Path(file).name}:{line} {fn}" if line else fn
        if fn in ("<module>",) or "run_module" in fn or "_run_code" in fn:
            continue
        print(f"| `{where}` | {nc / seconds:.1f} | {1000 * ct / seconds:.2f} | "
              f"{1000 * tt / seconds:.2f} |")  # fmt: skip
        shown += 1
    for (file, _line, fn), (_cc, nc, _tt, _ct, callers) in raw.items():
        if fn == "execute_command" and "redis" in file:
            # redis-py's commands, and who sends them: the Redis reads of an idle unit
            who = sorted(callers.items(), key=lambda kv: -kv[1][1])
            names = ", ".join(f"{c[2]} {v[1] / seconds:.1f}/s" for c, v in who[:8])
            print(f"Redis commands {nc / seconds:.1f}/s ({Path(file).parent.name}), from: {names}")


def rss_by_mapping(pid: int) -> dict[str, tuple[float, float]]:
    """``/proc/PID/smaps`` summed by what is mapped (a file's name, ``[heap]``, ``[anon]``):
    (RSS MB, of it anonymous MB). Shared libraries count in RSS by the pages touched."""
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    name = "[anon]"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        parts = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            path = parts[5] if len(parts) > 5 else "[anon]"
            name = path.rsplit("/", 1)[-1] if path.startswith("/") else path
        elif parts[0] == "Rss:":
            found[name][0] += int(parts[1])
        elif parts[0] == "Anonymous:":
            found[name][1] += int(parts[1])
    return {k: (v[0] / 1024, v[1] / 1024) for k, v in found.items()}


def print_mappings(pids: dict[str, int], top: int = 14) -> None:
    for n, pid in pids.items():
        maps = rss_by_mapping(pid)
        rows = sorted(maps.items(), key=lambda kv: -kv[1][0])
        shown = ", ".join(f"{k} {v[0]:.1f} ({v[1]:.1f} anon)" for k, v in rows[:top])
        rest = sum(v[0] for _k, v in rows[top:])
        print(f"{n}'s RSS by mapping, MB: {shown}, the rest {rest:.1f}")


def redis_commands(site: Site, name: str) -> dict[str, int]:
    """``INFO commandstats`` of unit ``name``'s embedded Redis (as its own user, from its
    redis.conf, in its namespace): calls per command so far."""
    conf = (site.procs.dir / name / "redis" / "redis.conf").read_text()
    port = re.search(r"^(?:tls-)?port (\d+)$", conf, re.M)
    password = re.search(r"^user hapair reset on >(\S+)", conf, re.M)
    if port is None or password is None or port.group(1) == "0":
        return {}
    prefix = site.topology.exec_prefix(name) if site.topology is not None else []
    out = subprocess.run(
        [*prefix, "redis-cli", "-h", "127.0.0.1", "-p", port.group(1), "--user", "hapair",
         "--pass", password.group(1), "--no-auth-warning", "INFO", "commandstats"],
        capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"cmdstat_(\S+?):calls=(\d+)", out)}


def print_sampled(name: str, path: Path, top: int = 40) -> None:
    """``--sampled``: the share of the CPU samples each function was on the stack for
    (inclusive) and at the top of it (own), from ``bench/sampled.py``."""
    inclusive: dict[str, int] = defaultdict(int)
    own: dict[str, int] = defaultdict(int)
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    print(f"\n{name}: {total} CPU samples (bench/sampled.py INTERVAL_S of CPU each)")
    print("| function | inclusive | own |")
    print("| --- | --- | --- |")
    for frame, n in sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]:
        print(f"| `{frame}` | {100 * n / total:.1f} % | {100 * own[frame] / total:.1f} % |")


def print_traced(procs: Procs, pids: dict[str, int]) -> None:
    """``--traced``: the Python memory each unit still holds, by the package that allocated it
    (``bench/traced.py``; tracemalloc's own bookkeeping inflates the RSS of these runs)."""
    for n, pid in pids.items():
        path = procs.dir / f"{n}.traced"
        os.kill(pid, signal.SIGUSR2)
        poll(path.exists, timeout=300, what=f"{n}'s allocations")
        lines = path.read_text().split("\n")
        total = int(lines[0].split()[1])
        rows = [ln.split() for ln in lines[1:] if ln]
        packages = [r for r in rows if not r[0].startswith("site:")]
        top = ", ".join(f"{r[0]} {int(r[1]) / 2**20:.2f}" for r in packages[:45])
        print(f"{n}'s Python memory held, {total / 2**20:.1f} MB, by package, MB: {top}")
        lines_ = [r for r in rows if r[0].startswith("site:")]
        top = ", ".join(f"{r[0][5:]} {int(r[1]) / 2**10:.0f}" for r in lines_[:40])
        print(f"{n}'s biggest allocating lines, KB: {top}")


def window(site: Site, ns: argparse.Namespace, procs: Procs) -> None:
    """The measurement window on the settled pair; prints the tables."""
    pids = {n: p.pid for n, p in site.units.items()}
    redis = {n: children(pid) for n, pid in pids.items()}
    groups = {n: [pid] for n, pid in pids.items()}
    groups |= {f"{n}'s Redis": r for n, r in redis.items()}
    commands = {n: redis_commands(site, n) for n in pids}
    before = {k: sum(cpu_s(p) for p in v) for k, v in groups.items()}
    woke = {k: sum(wakeups(p) for p in v) for k, v in groups.items()}
    threads = {n: thread_cpu(pid) for n, pid in pids.items()}
    if ns.profile or ns.sampled:
        for pid in pids.values():
            os.kill(pid, signal.SIGUSR1)
    start = time.monotonic()
    time.sleep(ns.seconds)  # the measurement window itself
    if ns.profile or ns.sampled:
        for pid in pids.values():
            os.kill(pid, signal.SIGUSR2)
    took = time.monotonic() - start
    used = {k: sum(cpu_s(p) for p in v) - before[k] for k, v in groups.items()}
    roles = {n: site.me(n)["role"] for n in pids}
    print(f"\nidle {took:.0f} s, heartbeat {ns.heartbeat:g} s")
    woke = {k: (sum(wakeups(p) for p in v) - woke[k]) / took for k, v in groups.items()}
    print("| process | RSS | CPU (% of one core) | wake-ups a second |")
    print("| --- | --- | --- | --- |")
    for k, v in groups.items():
        role = f" ({roles[k]})" if k in roles else ""
        rss = sum(rss_mb(p) for p in v)
        print(f"| {k}{role} | {rss:.1f} MB | {100 * used[k] / took:.2f} % | {woke[k]:.1f} |")
    for n, pid in pids.items():
        mb = rss_mb(pid) + sum(rss_mb(p) for p in redis[n])
        pct = 100 * (used[n] + used[f"{n}'s Redis"]) / took
        wakes = woke[n] + woke[f"{n}'s Redis"]
        print(f"| **{n}: hapair + its Redis** | **{mb:.1f} MB** | **{pct:.2f} %** | {wakes:.1f} |")
    for n, pid in pids.items():
        now = thread_cpu(pid)
        spent = sorted(((t, now[t] - threads[n].get(t, 0.0)) for t in now), key=lambda kv: -kv[1])
        busy = ", ".join(f"{t} {100 * s / took:.2f} %" for t, s in spent if s > 0)
        print(f"{n}'s threads over the window: {busy or 'none used CPU'}")
    for n in pids:
        after = redis_commands(site, n)
        after["info"] = after.get("info", 0) - 1  # the bench's own INFO commandstats
        rates = {c: (k - commands[n].get(c, 0)) / took for c, k in after.items()}
        shown = ", ".join(f"{c} {r:.2f}/s" for c, r in sorted(rates.items()) if r > 0)
        print(f"{n}'s Redis commands over the window: {shown or 'none'}")
    details(ns, procs, pids, site, took)


def details(
    ns: argparse.Namespace, procs: Procs, pids: dict[str, int], site: Site, took: float
) -> None:
    """What the flags asked for beyond the table: profiles, samples, mappings, imports."""
    if ns.profile:
        for n in pids:
            path = procs.dir / f"{n}.prof"
            poll(path.exists, timeout=10, what=f"{n}'s profile")
            print_profile(path, took)
    if ns.sampled:
        for n in pids:
            path = procs.dir / f"{n}.sampled"
            poll(path.exists, timeout=10, what=f"{n}'s samples")
            print_sampled(n, path)
    if ns.maps:
        print_mappings(pids)
    if ns.traced:
        print_traced(procs, pids)
    if ns.imports:
        print_imports(site.units["first"].log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="the measurement window")
    parser.add_argument("--rest", type=float, default=10.0, help="rest before the window")
    parser.add_argument("--heartbeat", type=float, default=1.0)
    parser.add_argument("--loopback", action="store_true", help="one host even as root")
    parser.add_argument("--imports", action="store_true", help="-X importtime, RSS per import")
    parser.add_argument("--profile", action="store_true", help="cProfile window per unit")
    parser.add_argument("--maps", action="store_true", help="RSS per mapping (/proc/PID/smaps)")
    parser.add_argument("--traced", action="store_true", help="Python memory held, by package")
    parser.add_argument("--sampled", action="store_true", help="CPU-time stack samples per unit")
    parser.add_argument("--module", help="run the units as python -m MODULE (an experiment)")
    parser.add_argument("--keep-logs", type=Path, help="copy the units' logs here at the end")
    ns = parser.parse_args(argv)
    print(machine_note())
    procs = Procs(prefix="hapair-idle-")
    site = Site(procs, netns=netns_usable() and not ns.loopback, heartbeat=ns.heartbeat)
    print(f"where: {site.describe()}")
    env: dict[str, str] = {}
    if ns.imports:
        env["PYTHONPROFILEIMPORTTIME"] = "1"
    if ns.profile:
        site.module = "bench.profiled"
    elif ns.traced:
        site.module = "bench.traced"
        site.ready_timeout = 300.0
    elif ns.sampled:
        site.module = "bench.sampled"
    elif ns.module:
        site.module = ns.module
    try:
        for name in ("first", "second"):
            if ns.profile:
                env["HAPAIR_BENCH_PROFILE"] = str(procs.dir / f"{name}.prof")
            env["HAPAIR_BENCH_TRACED"] = str(procs.dir / f"{name}.traced")
            env["HAPAIR_BENCH_SAMPLED"] = str(procs.dir / f"{name}.sampled")
            site.start(name, env=env)
        site.wait_settled("first", "second")
        time.sleep(ns.rest)  # rest: the window opens on a unit that has long settled
        window(site, ns, procs)
    finally:
        site.close(keep_logs=ns.keep_logs)
    print(machine_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
