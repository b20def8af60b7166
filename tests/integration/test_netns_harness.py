"""The network harness itself: reachability, partition and heal, shared-address routing, links."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.netns import PairNetwork, VethLink, Which, needs_netns
from tests.support import pid_alive, poll

pytestmark = needs_netns()

PORT = 8099
_FETCH = (
    "import sys, urllib.request; "
    "urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read()"
)


@contextlib.contextmanager
def http_server(
    net: PairNetwork, which: Which, bind: str, directory: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m http.server`` inside namespace ``which``; stopped by pid on exit."""
    directory.mkdir(parents=True, exist_ok=True)
    cmd = [*net.ns_prefix(which), sys.executable, "-m", "http.server", "--bind", bind, str(PORT)]
    proc = subprocess.Popen(
        cmd,
        cwd=directory,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=2)


def reachable_from(net: PairNetwork, which: Which, url: str, timeout: float = 1.0) -> bool:
    """Whether a GET of ``url`` from inside namespace ``which`` succeeds."""
    result = subprocess.run(
        [*net.ns_prefix(which), sys.executable, "-c", _FETCH, url, str(timeout)],
        capture_output=True,
        check=False,
        timeout=timeout + 10,
    )
    return result.returncode == 0


def test_partition_cuts_a_from_b_and_heal_restores(tmp_path: Path) -> None:
    with PairNetwork() as net, http_server(net, "b", net.addr_b, tmp_path / "b") as server:
        url = f"http://{net.addr_b}:{PORT}/"
        poll(lambda: get(url).status_code == 200, timeout=10, what=f"root GET {url}")
        assert reachable_from(net, "a", url)

        net.partition()
        assert not reachable_from(net, "a", url)
        assert get(url).status_code == 200, "root must still reach B"
        a_url = f"http://{net.addr_a}:{PORT}/"
        assert not reachable_from(net, "b", a_url)  # nothing listens on A, but also no route

        net.heal()
        poll(lambda: reachable_from(net, "a", url), timeout=10, what="A reaching B after heal")
        assert pid_alive(server.pid)
    assert not pid_alive(server.pid)


def test_blackhole_partition_times_out_instead_of_refusing(tmp_path: Path) -> None:
    with PairNetwork() as net, http_server(net, "b", net.addr_b, tmp_path / "b"):
        url = f"http://{net.addr_b}:{PORT}/"
        poll(lambda: get(url).status_code == 200, timeout=10, what=f"root GET {url}")
        net.partition("blackhole")
        assert not reachable_from(net, "a", url, timeout=0.5)
        net.heal()
        poll(lambda: reachable_from(net, "a", url), timeout=10, what="A reaching B after heal")


def test_shared_address_follows_point_shared_to(tmp_path: Path) -> None:
    with PairNetwork() as net:
        for which in ("a", "b"):
            (tmp_path / which).mkdir()
            (tmp_path / which / "who").write_text(which)
        with (
            http_server(net, "a", net.shared_ip, tmp_path / "a"),
            http_server(net, "b", net.shared_ip, tmp_path / "b"),
        ):
            url = f"http://{net.shared_ip}:{PORT}/who"
            poll(lambda: get(url).text == "a", timeout=10, what="shared address served by A")
            net.point_shared_to("b")
            poll(lambda: get(url).text == "b", timeout=10, what="shared address served by B")


def test_network_is_removed_on_exit() -> None:
    with PairNetwork() as net:
        names = (net.ns_a, net.ns_b)
        shared = net.shared_ip
        listed = subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True, check=False
        ).stdout
        assert all(name in listed for name in names)
    listed = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=False
    ).stdout
    assert not any(name in listed for name in names)
    routes = subprocess.run(
        ["ip", "route", "show"], capture_output=True, text=True, check=False
    ).stdout
    assert shared not in routes
    assert not Path(f"/sys/class/net/{net.root_interface('a')}").exists()


def test_veth_link_operstate_follows_set_down_and_up() -> None:
    with VethLink() as link:
        path = Path(f"/sys/class/net/{link.monitored}/operstate")
        poll(lambda: path.read_text().strip() == "up", timeout=5, what="link up")
        link.set_down()
        poll(lambda: link.operstate() == "down", timeout=5, what="link down")
        link.set_up()
        poll(lambda: link.operstate() == "up", timeout=5, what="link up again")
    assert not path.exists()
