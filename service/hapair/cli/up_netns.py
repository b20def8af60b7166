"""``hapair up --netns``: the pair as two real hosts in network namespaces (SPEC section 8).

The topology (``../shared/notes/netns-hosts.md``): a namespace ``<prefix>-lan`` holding one
bridge ``br0``, and namespaces ``<prefix>-first``, ``-second`` and ``-client``, each with an
``eth0`` whose veth peer is a port of the bridge. Addresses: first 192.0.2.11, second .12,
client .100 (/24), and 2001:db8::11, ::12, ::100 (/64); the shared address 192.0.2.10 is a
virtual IP the active unit adds to its ``eth0`` (``--shared-interface eth0``).

Every link lives inside the namespaces (the veths are created in the lan namespace with the
peer straight in the host's), so deleting the namespaces removes everything, and nothing
touches the root namespace. :class:`LanTopology` is also what the tests build, under a unique
prefix.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

HOSTS = ("first", "second", "client")
IPV4 = {"first": "192.0.2.11", "second": "192.0.2.12", "client": "192.0.2.100"}
IPV6 = {"first": "2001:db8::11", "second": "2001:db8::12", "client": "2001:db8::100"}
SHARED_IP = "192.0.2.10"
SHARED_IP6 = "2001:db8::10"
PREFIX4 = 24
PREFIX6 = 64
INTERFACE = "eth0"


class TopologyError(RuntimeError):
    """An ``ip`` command of the topology failed."""


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``ip ARGS``; raise :class:`TopologyError` with its stderr when it fails."""
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise TopologyError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result


def existing_namespaces() -> set[str]:
    """The names ``ip netns list`` shows."""
    out = ip("netns", "list", check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


class LanTopology:
    """Namespaces ``<prefix>-lan`` (bridge), ``-first``, ``-second``, ``-client`` on one LAN.

    ``build()`` refuses to touch a namespace that already exists; ``close()`` removes, by name,
    the namespaces it created (SIGKILLing, by pid, anything still running inside them) and is
    safe to call twice and after a failed build.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.lan = f"{prefix}-lan"
        self.created: list[str] = []

    def ns(self, host: str) -> str:
        """The namespace of ``host`` (first, second, client, lan)."""
        return f"{self.prefix}-{host}"

    @property
    def names(self) -> list[str]:
        """Every namespace of this topology."""
        return [self.lan, *(self.ns(h) for h in HOSTS)]

    def exec_prefix(self, host: str) -> list[str]:
        """Prefix a command with this to run it inside ``host``'s namespace."""
        return ["ip", "netns", "exec", self.ns(host)]

    def __enter__(self) -> LanTopology:
        try:
            self.build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def build(self) -> None:
        """Create the namespaces, the bridge, the veths and the addresses."""
        taken = existing_namespaces() & set(self.names)
        if taken:
            raise TopologyError(
                f"network namespace(s) {', '.join(sorted(taken))} already exist; remove them "
                f"(ip netns del NAME) if they are left over from an earlier run"
            )
        self._add_ns(self.lan)
        ip("-n", self.lan, "link", "add", "br0", "type", "bridge")
        ip("-n", self.lan, "link", "set", "br0", "up")
        for host in HOSTS:
            ns = self.ns(host)
            self._add_ns(ns)
            port = f"v-{host}"
            ip("-n", self.lan, "link", "add", port, "type", "veth", "peer", "name", INTERFACE,
               "netns", ns)  # fmt: skip
            ip("-n", self.lan, "link", "set", port, "master", "br0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "addr", "add", f"{IPV4[host]}/{PREFIX4}", "dev", INTERFACE)
            # nodad: usable at once instead of after duplicate address detection (~1 s)
            ip("-n", ns, "addr", "add", f"{IPV6[host]}/{PREFIX6}", "dev", INTERFACE, "nodad")
            ip("-n", ns, "link", "set", INTERFACE, "up")

    def close(self) -> None:
        """Remove every namespace this topology created (and so every link in them)."""
        for ns in reversed(self.created):
            kill_namespace_processes(ns)
            ip("netns", "del", ns, check=False)
        self.created.clear()

    def _add_ns(self, ns: str) -> None:
        ip("netns", "add", ns)
        self.created.append(ns)


def kill_namespace_processes(ns: str) -> None:
    """SIGKILL, by pid, what still runs inside namespace ``ns`` (one this program created)."""
    for pid in ip("netns", "pids", ns, check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)


# ---- hapair up --netns ---------------------------------------------------------------------


def _pdeathsig() -> None:
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def fetch_from(topology: LanTopology, host: str, url: str, token: str | None = None) -> int:
    """The HTTP status of ``GET url`` made inside ``host``'s namespace; 0 when unreachable."""
    code = (
        "import sys, urllib.request, urllib.error\n"
        "req = urllib.request.Request(sys.argv[1])\n"
        "if sys.argv[2]: req.add_header('Authorization', 'Bearer ' + sys.argv[2])\n"
        "try: print(urllib.request.urlopen(req, timeout=1).status)\n"
        "except urllib.error.HTTPError as e: print(e.code)\n"
        "except OSError: print(0)\n"
    )
    result = subprocess.run(
        [*topology.exec_prefix(host), sys.executable, "-c", code, url, token or ""],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    try:
        return int(result.stdout.strip() or 0)
    except ValueError:
        return 0


def _start_unit(
    topology: LanTopology,
    name: str,
    *,
    port: int,
    data_dir: Path,
    heartbeat_interval: float,
    env: dict[str, str],
) -> subprocess.Popen[bytes]:
    partner = "second" if name == "first" else "first"
    unit_dir = data_dir / name
    unit_dir.mkdir(parents=True, exist_ok=True)
    command = [
        *topology.exec_prefix(name),
        sys.executable, "-m", "hapair", "serve",
        "--listen", f"{IPV4[name]}:{port}",
        "--data-dir", str(unit_dir),
        "--mode", name,
        "--partner", f"{IPV4[partner]}:{port}",
        "--shared", f"{SHARED_IP}:{port}",
        "--shared-interface", INTERFACE,
        "--shared-prefix", str(PREFIX4),
        "--heartbeat-interval", str(heartbeat_interval),
        # files, not values: argv is visible to every user in `ps`
        "--pair-key-file", str(data_dir / "pair.key"),
        "--admin-token-file", str(data_dir / "admin.token"),
    ]  # fmt: skip
    with (unit_dir / "hapair.log").open("ab") as log_file:
        # `ip netns exec` execs the command: the pid is the unit's own
        return subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=_pdeathsig,  # noqa: PLW1509 - the units must not outlive `hapair up`
            start_new_session=True,
        )


def _wait_ready(
    topology: LanTopology,
    name: str,
    proc: subprocess.Popen[bytes],
    port: int,
    stopping: Callable[[], bool],
) -> bool:
    deadline = time.monotonic() + 30
    while not stopping() and time.monotonic() < deadline:
        if proc.poll() is not None:
            print(f"hapair up: unit {name} exited with {proc.returncode}", file=sys.stderr)
            return False
        if fetch_from(topology, "client", f"http://{IPV4[name]}:{port}/readyz") == 200:
            return True
        time.sleep(0.2)
    return stopping()


def _stop(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cmd_up_netns(ns: argparse.Namespace, *, prefix: str = "hapair") -> int:
    """``hapair up --netns``: build the topology, start both units, wait for Ctrl-C, clean up."""
    if os.geteuid() != 0:
        print(
            "hapair up --netns needs root: it creates network namespaces, a bridge and veth "
            "links, and the units move the shared IP (CAP_NET_ADMIN, CAP_NET_RAW). "
            "Run it with sudo, or use `hapair up` for a pair on loopback addresses.",
            file=sys.stderr,
        )
        return 2
    data_dir = Path(ns.data_dir).resolve() / "netns"
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    from hapair.secretfiles import SECRET_ENV, new_pair_key, read_or_create
    from hapair.services.tokens import new_token

    # created 0600 from the start; the units get the file names, never the values
    read_or_create(data_dir / "pair.key", new_pair_key)
    token = read_or_create(data_dir / "admin.token", new_token)
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
    topology = LanTopology(prefix)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def stop_all(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop_all)
    signal.signal(signal.SIGTERM, stop_all)
    try:
        try:
            topology.build()
        except TopologyError as exc:
            print(f"hapair up --netns: {exc}", file=sys.stderr)
            return 1
        for name in ("first", "second"):
            if stopping:
                break
            procs[name] = _start_unit(
                topology,
                name,
                port=ns.port,
                data_dir=data_dir,
                heartbeat_interval=ns.heartbeat_interval,
                env=env,
            )
            if not _wait_ready(topology, name, procs[name], ns.port, lambda: stopping):
                return 1
        if not stopping:
            print(_banner(topology, procs, ns.port, token, data_dir), flush=True)
        reported: set[str] = set()
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None and name not in reported:
                    reported.add(name)
                    print(f"hapair up: unit {name} exited ({proc.returncode})", flush=True)
            time.sleep(0.2)
    finally:
        _stop(procs)
        topology.close()
        print("hapair pair stopped; namespaces removed", flush=True)
    return 0


def _banner(
    topology: LanTopology,
    procs: dict[str, subprocess.Popen[bytes]],
    port: int,
    token: str,
    data_dir: Path,
) -> str:
    client = " ".join(topology.exec_prefix("client"))
    auth = f'-H "Authorization: Bearer {token}"'
    return (
        "hapair pair is up on network namespaces (one bridge, 192.0.2.0/24)\n"
        f"  shared address : http://{SHARED_IP}:{port}   (virtual IP on the active's eth0)\n"
        f"  first          : http://{IPV4['first']}:{port}   "
        f"(netns {topology.ns('first')}, pid {procs['first'].pid})\n"
        f"  second         : http://{IPV4['second']}:{port}   "
        f"(netns {topology.ns('second')}, pid {procs['second'].pid})\n"
        f"  client         : {IPV4['client']}   (netns {topology.ns('client')})\n"
        f"  admin token    : {token}\n"
        f"  logs           : {data_dir / 'first' / 'hapair.log'}, "
        f"{data_dir / 'second' / 'hapair.log'}\n"
        "From the client namespace:\n"
        f"  {client} curl -s {auth} http://{SHARED_IP}:{port}/api/v1/ha/status\n"
        f"  {client} curl -s {auth} http://{IPV4['second']}:{port}/api/v1/ha/status\n"
        f"  ip -n {topology.ns('client')} neigh          # the MAC the shared IP points at\n"
        f"  ip -n {topology.ns('first')} addr show eth0  # who holds {SHARED_IP}\n"
        f"Watch a failover: kill -9 {procs['first'].pid}, then ask the shared address again.\n"
        "Ctrl-C stops both units and removes the namespaces."
    )
