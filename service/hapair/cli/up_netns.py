"""``hapair up --netns``: the pair as two real hosts in network namespaces (SPEC section 8).

The network is :class:`hapair.cli.lan.LanTopology` (one bridge, hosts first, second and
client, and a second bridge, the units' sync link); this module starts the two units in it,
sets ``update_interface`` to the sync link's ``sync0`` (SPEC 5b'), prints how to reach them and
how to cut either link, and on Ctrl-C stops them and removes the namespaces. The topology's
names stay importable from here.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hapair.cli.lan import (
    HOSTS,
    INTERFACE,
    IPV4,
    IPV6,
    PREFIX4,
    PREFIX6,
    SHARED_IP,
    SHARED_IP6,
    SYNC_INTERFACE,
    SYNC_IPV4,
    LanTopology,
    TopologyError,
    existing_namespaces,
    fetch_from,
    ip,
    kill_namespace_processes,
)
from hapair.cli.units import (
    StopFlag,
    pair_secrets,
    serve_command,
    spawn_unit,
    stop_units,
    unit_env,
)
from hapair.domain.unit import HA_UNITS, other_unit

__all__ = [
    "HOSTS",
    "INTERFACE",
    "IPV4",
    "IPV6",
    "PREFIX4",
    "PREFIX6",
    "SHARED_IP",
    "SHARED_IP6",
    "LanTopology",
    "TopologyError",
    "cmd_up_netns",
    "existing_namespaces",
    "fetch_from",
    "ip",
    "kill_namespace_processes",
]


def _start_unit(
    topology: LanTopology,
    name: str,
    *,
    port: int,
    data_dir: Path,
    heartbeat_interval: float,
    env: dict[str, str],
) -> subprocess.Popen[bytes]:
    partner = other_unit(name)
    command = serve_command(
        name,
        listen=f"{IPV4[name]}:{port}",
        partner=f"{IPV4[partner]}:{port}",
        shared=f"{SHARED_IP}:{port}",
        data_dir=data_dir,
        heartbeat_interval=heartbeat_interval,
        extra=("--shared-interface", INTERFACE, "--shared-prefix", str(PREFIX4)),
    )
    # `ip netns exec` execs the command: the pid is the unit's own
    return spawn_unit([*topology.exec_prefix(name), *command], unit_dir=data_dir / name, env=env)


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
    token = pair_secrets(data_dir)  # created 0600; the units get the file names, never the values
    env = unit_env()
    topology = LanTopology(prefix, sync=True)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    stopping = StopFlag().install()
    try:
        try:
            topology.build()
        except TopologyError as exc:
            print(f"hapair up --netns: {exc}", file=sys.stderr)
            return 1
        for name in HA_UNITS:
            if stopping():
                break
            procs[name] = _start_unit(
                topology,
                name,
                port=ns.port,
                data_dir=data_dir,
                heartbeat_interval=ns.heartbeat_interval,
                env=env,
            )
            if not _wait_ready(topology, name, procs[name], ns.port, stopping):
                return 1
        if not stopping():
            if not _use_sync_link(topology, ns.port, token):
                print(
                    f"hapair up: could not set update_interface to {SYNC_INTERFACE}; the units "
                    "keep to the direct link",
                    file=sys.stderr,
                )
            print(_banner(topology, procs, ns.port, token, data_dir), flush=True)
        reported: set[str] = set()
        while not stopping():
            for name, proc in procs.items():
                if proc.poll() is not None and name not in reported:
                    reported.add(name)
                    print(f"hapair up: unit {name} exited ({proc.returncode})", flush=True)
            time.sleep(0.2)
    finally:
        stop_units(procs)
        topology.close()
        print("hapair pair stopped; namespaces removed", flush=True)
    return 0


def _use_sync_link(topology: LanTopology, port: int, token: str) -> bool:
    """PATCHes ``update_interface`` to the sync link's interface, from the client namespace
    through the shared address (the active); whether it was taken."""
    code = (
        "import json, sys, urllib.request\n"
        "req = urllib.request.Request(sys.argv[1], method='PATCH',\n"
        "    data=json.dumps({'update_interface': sys.argv[3]}).encode(),\n"
        "    headers={'Authorization': 'Bearer ' + sys.argv[2],\n"
        "             'Content-Type': 'application/json'})\n"
        "print(urllib.request.urlopen(req, timeout=5).status)\n"
    )
    url = f"http://{SHARED_IP}:{port}/api/v1/ha/parameters"
    for _ in range(20):  # the active may still be taking the shared address
        result = subprocess.run(
            [*topology.exec_prefix("client"), sys.executable, "-c", code, url, token,
             SYNC_INTERFACE],
            capture_output=True, text=True, check=False, timeout=15,
        )  # fmt: skip
        if result.stdout.strip() == "200":
            return True
        time.sleep(0.5)
    return False


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
        "hapair pair is up on network namespaces (a LAN, 192.0.2.0/24, and a sync link, "
        f"198.51.100.0/24 on {SYNC_INTERFACE}: update_interface)\n"
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
        "Cut one link (no failover either way; see links and alerts in the status):\n"
        f"  ip -n {topology.lan} link set s-second down   # the sync link "
        f"({SYNC_IPV4['second']}); 'up' again to heal\n"
        f"  ip -n {topology.lan} link set v-second down   # the LAN (and the client) to second\n"
        "Ctrl-C stops both units and removes the namespaces."
    )
