"""``hapair up --netns`` (SPEC section 8): refuses without root; Ctrl-C removes what it made.

The command's namespace names are fixed by the spec (``hapair-lan``, ``-first``, ``-second``,
``-client``): the test skips if any exists (someone else's), and removes them by name after.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hapair.cli.up_netns import IPV4, LanTopology, existing_namespaces, fetch_from, ip
from hapair.cli.up_netns import kill_namespace_processes as kill_inside
from tests.netns import needs_netns
from tests.support import poll

PORT = 8080
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def up_command(data_dir: Path) -> list[str]:
    return [sys.executable, "-m", "hapair", "up", "--netns", "--data-dir", str(data_dir),
            "--port", str(PORT), "--heartbeat-interval", "0.5"]  # fmt: skip


def test_up_netns_without_root_says_it_needs_root(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) is needed to drop root")
        command = [*NOBODY, *up_command(tmp_path / "data")]
    else:
        command = up_command(tmp_path / "data")
    result = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=60, cwd="/"
    )
    assert result.returncode == 2, result.stderr
    assert "hapair up --netns needs root" in result.stderr
    assert not (tmp_path / "data").exists()


@needs_netns()
def test_up_netns_sigint_removes_every_namespace_and_process(tmp_path: Path) -> None:
    topology = LanTopology("hapair")
    taken = existing_namespaces() & set(topology.names)
    if taken:
        pytest.skip(f"namespaces {sorted(taken)} exist already (not ours to touch)")
    out = tmp_path / "up.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            up_command(tmp_path / "data"),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    unit_pids: list[int] = []
    try:
        poll(
            lambda: set(topology.names) <= existing_namespaces(),
            timeout=30,
            what="the four namespaces",
        )
        for name in ("first", "second"):
            url = f"http://{IPV4[name]}:{PORT}/readyz"
            poll(
                functools.partial(_answers, topology, url),
                timeout=60,
                what=f"{name}'s /readyz from the client namespace",
            )
        poll(lambda: "Ctrl-C stops" in out.read_text(), timeout=30, what="the banner")
        banner = out.read_text()
        assert f"ip netns exec {topology.ns('client')} curl" in banner
        assert "http://192.0.2.10:8080/api/v1/ha/status" in banner
        # the sync link (issue 18 point 4): a second bridge, update_interface on it
        assert f"ip -n {topology.lan} link set s-second down" in banner
        assert "198.51.100.12/24" in ip("-n", topology.ns("second"), "addr", "show", "sync0").stdout
        token = banner.split("admin token    : ")[1].split()[0]
        poll(
            functools.partial(_update_applied, topology, token),
            timeout=30,
            what="update_interface applied on both units (the sync link)",
        )
        for name in ("first", "second"):
            unit_pids += [int(p) for p in ip("netns", "pids", topology.ns(name)).stdout.split()]
        assert unit_pids

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, out.read_text()
        assert not set(topology.names) & existing_namespaces()
        for pid in unit_pids:
            assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"pid {pid} survived"
        assert "namespaces removed" in out.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for ns in topology.names:
            if ns in existing_namespaces():
                kill_inside(ns)
                ip("netns", "del", ns, check=False)


def _answers(topology: LanTopology, url: str) -> bool:
    return fetch_from(topology, "client", url) == 200


def _update_applied(topology: LanTopology, token: str) -> bool:
    code = (
        "import json, sys, urllib.request\n"
        "auth = {'Authorization': 'Bearer ' + sys.argv[2]}\n"
        "req = urllib.request.Request(sys.argv[1], headers=auth)\n"
        "units = json.load(urllib.request.urlopen(req, timeout=2))['units']\n"
        "print(len(units) == 2 and all(u['parameters']['update_interface']['state'] == 'applied'\n"
        "      for u in units))\n"
    )
    url = f"http://{IPV4['first']}:{PORT}/api/v1/ha/parameters/applied"
    command = [*topology.exec_prefix("client"), sys.executable, "-c", code, url, token]
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=15)
    return result.stdout.strip() == "True"


def _zombie(pid: int) -> bool:
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] == "Z"
    return True


def test_serve_with_shared_interface_refuses_without_net_capabilities(tmp_path: Path) -> None:
    serve = [sys.executable, "-m", "hapair", "serve", "--shared-interface", "eth0",
             "--data-dir", str(tmp_path / "unit")]  # fmt: skip
    if os.geteuid() == 0:
        if shutil.which("capsh") is None:
            pytest.skip("capsh (libcap2-bin) is needed to drop capabilities")
        command = ["capsh", "--drop=cap_net_admin,cap_net_raw", "--", "-c", 'exec "$0" "$@"',
                   *serve]  # fmt: skip
    else:
        command = serve
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "--shared-interface eth0: moving the shared address needs CAP_NET_ADMIN" in (
        result.stderr
    )
    assert not (tmp_path / "unit").exists()
