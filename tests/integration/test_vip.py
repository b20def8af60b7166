"""The virtual IP between real network stacks: two unit namespaces and a client on one bridge.

Each ``VirtualIP`` call runs in a child ``python`` inside a unit's namespace (``ip netns exec``),
as the unit itself would; the client namespace's neighbour table and a TCP connection show
what a real client on the LAN sees.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator

from hapair.cli.up_netns import IPV4, PREFIX4, PREFIX6, SHARED_IP, SHARED_IP6
from tests.netns import Lan, needs_netns
from tests.support import poll

pytestmark = needs_netns()

VMAC = "00:00:5e:00:01:0a"
STALE_MAC = "02:00:5e:ff:ff:01"
PORT = 9009

# Runs VirtualIP(ip, eth0, prefix, virtual_mac=...) operations given as argv (``op`` or
# ``op:N`` for op(N)), prints the results.
_DRIVER = """
import json, sys
from hapair.engine.netif.vip import VirtualIP, VipError
ip, prefix, vmac, *ops = sys.argv[1:]
v = VirtualIP(ip, "eth0", int(prefix), virtual_mac=vmac or None)
out = []
for op in ops:
    name, _, arg = op.partition(":")  # "renew:30": renew(30)
    try:
        out.append(getattr(v, name)(*([int(arg)] if arg else [])))
    except VipError as exc:
        out.append("VipError: " + str(exc))
print(json.dumps(out))
"""

_LISTENER = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen()
while True:
    c, _ = s.accept()
    c.sendall(sys.argv[2].encode())
    c.close()
"""

_CONNECT = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2) as c:
    print(c.recv(100).decode())
"""


def vip(
    lan: Lan, host: str, *ops: str, ip: str = SHARED_IP, prefix: int = PREFIX4, vmac: str = ""
) -> list[object]:
    """Run VirtualIP operations (``add``, ``announce``, ...) inside ``host``; their results."""
    out = lan.run(host, sys.executable, "-c", _DRIVER, ip, str(prefix), vmac, *ops).stdout
    result: list[object] = json.loads(out)
    return result


@contextlib.contextmanager
def listener(lan: Lan, host: str) -> Iterator[None]:
    """A TCP server on port PORT in ``host`` answering its name; stopped by pid."""
    proc = subprocess.Popen(
        [*lan.exec_prefix(host), sys.executable, "-c", _LISTENER, str(PORT), host],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        poll(lambda: connect(lan, IPV4[host]) == host, timeout=10, what=f"listener in {host}")
        yield
    finally:
        proc.kill()
        proc.wait()


def connect(lan: Lan, address: str) -> str:
    """What a TCP connection from the client to ``address``:PORT reads ('' if none)."""
    result = lan.run("client", sys.executable, "-c", _CONNECT, address, str(PORT), check=False)
    return result.stdout.strip()


def test_add_puts_the_address_on_eth0_idempotently(lan: Lan) -> None:
    assert vip(lan, "first", "present", "add", "add", "present") == [False, None, None, True]
    assert f"inet {SHARED_IP}/24 scope global secondary eth0" in lan.addresses("first")
    assert SHARED_IP not in lan.addresses("second")
    assert vip(lan, "first", "remove", "remove", "present") == [None, None, False]
    assert SHARED_IP not in lan.addresses("first")


def test_announce_points_the_clients_neighbour_entry_at_the_owner(lan: Lan) -> None:
    lan.set_neighbour("client", SHARED_IP, STALE_MAC)
    assert vip(lan, "first", "add", "announce") == [None, 3]
    assert lan.neighbour("client", SHARED_IP) == lan.mac("first")


def test_moving_the_address_moves_the_clients_traffic(lan: Lan) -> None:
    with listener(lan, "first"), listener(lan, "second"):
        vip(lan, "first", "add", "announce")
        assert connect(lan, SHARED_IP) == "first"
        assert lan.neighbour("client", SHARED_IP) == lan.mac("first")
        # the new owner adds it; until it announces, the client still points at first
        assert vip(lan, "first", "remove") == [None]
        assert vip(lan, "second", "add") == [None]
        assert lan.neighbour("client", SHARED_IP) == lan.mac("first")
        assert vip(lan, "second", "announce") == [3]
        assert lan.neighbour("client", SHARED_IP) == lan.mac("second")
        assert connect(lan, SHARED_IP) == "second"
        assert SHARED_IP not in lan.addresses("first")


def test_renew_follows_the_carrier_made_again_and_never_puts_back_a_gone_address(
    lan: Lan,
) -> None:
    # one VirtualIP renewing with the macvlan's index it remembers; the macvlan is deleted
    # and made again in between (a new index): the renew finds the address there
    ops = ["add:30", "renew:20", "lease_left", "remove", "renew:20", "add:30", "renew:20"]
    got = vip(lan, "first", *ops, "lease_left", "remove", vmac=VMAC)
    assert got[:5] == [None, True, got[2], None, False], got
    assert isinstance(got[2], int) and got[2] <= 20, got
    assert got[5:7] == [None, True], got
    assert isinstance(got[7], int) and got[7] <= 20, got  # renewed to 20 under the new index
    assert SHARED_IP not in lan.addresses("first")


def test_virtual_mac_moves_with_the_address_and_remove_deletes_the_macvlan(lan: Lan) -> None:
    lan.set_neighbour("client", SHARED_IP, STALE_MAC)
    with listener(lan, "first"), listener(lan, "second"):
        assert vip(lan, "first", "add", "add", "announce", vmac=VMAC) == [None, None, 3]
        assert lan.neighbour("client", SHARED_IP) == VMAC
        assert "hapair-vmac" in lan.addresses("first")
        assert connect(lan, SHARED_IP) == "first"
        # the parent no longer answers ARP for an address on its macvlan (arp_ignore/arp_filter)
        assert lan.run("first", "cat", "/proc/sys/net/ipv4/conf/eth0/arp_ignore").stdout == "1\n"

        vip(lan, "first", "remove", vmac=VMAC)
        assert "hapair-vmac" not in lan.addresses("first")
        assert SHARED_IP not in lan.addresses("first")
        vip(lan, "second", "add", "announce", vmac=VMAC)
        assert lan.neighbour("client", SHARED_IP) == VMAC
        # same MAC, other host: the bridge learns where it now lives from the announcement
        assert connect(lan, SHARED_IP) == "second"
        assert vip(lan, "second", "remove", "present", vmac=VMAC) == [None, False]
        assert "hapair-vmac" not in lan.addresses("second")


def test_unsolicited_na_points_the_clients_ipv6_neighbour_at_the_owner(lan: Lan) -> None:
    lan.set_neighbour("client", SHARED_IP6, STALE_MAC)
    assert vip(lan, "first", "add", "announce", ip=SHARED_IP6, prefix=PREFIX6) == [None, 3]
    assert f"inet6 {SHARED_IP6}/64" in lan.addresses("first")
    assert lan.neighbour("client", SHARED_IP6) == lan.mac("first")
    vip(lan, "first", "remove", ip=SHARED_IP6, prefix=PREFIX6)
    assert vip(lan, "second", "add", "announce", ip=SHARED_IP6, prefix=PREFIX6) == [None, 3]
    assert lan.neighbour("client", SHARED_IP6) == lan.mac("second")
    assert SHARED_IP6 not in lan.addresses("first")


def test_check_capabilities_refuses_without_net_admin_and_net_raw(lan: Lan) -> None:
    code = (
        "from hapair.engine.netif.vip import VirtualIP, VipError\n"
        "v = VirtualIP('192.0.2.10', 'eth0', 24)\n"
        "v.check_capabilities()\n"
    )
    ok = lan.run("first", sys.executable, "-c", code, check=False)
    assert ok.returncode == 0, ok.stderr
    dropped = lan.run(
        "first", "capsh", "--drop=cap_net_admin,cap_net_raw", "--",
        "-c", f'exec "{sys.executable}" -c "$0"', code, check=False,
    )  # fmt: skip
    assert dropped.returncode != 0
    assert "VipError: moving the shared address needs CAP_NET_ADMIN and CAP_NET_RAW" in (
        dropped.stderr
    )
