"""The data plane's pure parts: the IPVS plan for every combination, the HAProxy peers
section and ``show peers``, the applied states, and the ``state-sync`` switchover check."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from hapair.domain.parameters import HAParameters
from hapair.engine.core import machine as m
from hapair.engine.dataplane import applied, ipvs, peers
from hapair.engine.pairlink.messages import AppliedState, Heartbeat

ROLES = ("active", "standby", "starting", "not_operational", "pacified", "indeterminate")


def l4(on: bool, **kw: object) -> ipvs.L4Parameters:
    base = {"threshold": 3, "period": 50, "refresh_period": 0, "interface": "eth0", "syncid": 10}
    base.update(kw)
    return ipvs.L4Parameters(on=on, **base)  # type: ignore[arg-type]


MASTER = ipvs.Daemon(state="master", interface="eth0", syncid=10)
BACKUP = ipvs.Daemon(state="backup", interface="eth0", syncid=10)
RUNNING: dict[str, frozenset[ipvs.Daemon] | None] = {
    "unknown": None,
    "none": frozenset(),
    "master": frozenset({MASTER}),
    "backup": frozenset({BACKUP}),
    "both": frozenset({MASTER, BACKUP}),
    "master-other-syncid": frozenset({replace(MASTER, syncid=11)}),
}


@pytest.mark.parametrize(
    ("on", "role", "running"), list(itertools.product((True, False), ROLES, RUNNING))
)
def test_plan_every_combination_ends_with_the_wanted_daemon_alone(
    on: bool, role: str, running: str
) -> None:
    facts = ipvs.KernelFacts(
        ipvs=True, sync_threshold="3\t50", sync_refresh_period="0", daemons=RUNNING[running]
    )
    plan = ipvs.plan(l4(on), role, facts)
    assert plan.supported
    assert plan.sysctls == ()  # the kernel holds the values already
    want = {"active": MASTER, "standby": BACKUP}.get(role) if on else None
    assert plan.wanted == want
    assert ipvs.running_after(plan, RUNNING[running]) == (
        frozenset() if want is None else frozenset({want})
    )
    # nothing is stopped that is wanted and runs; nothing started that runs already
    before = RUNNING[running]
    if before is not None:
        assert all(d.state in plan.stop for d in before if d != want)
        assert (want in before) == (want is not None and not plan.start)
    else:
        assert plan.stop == ("master", "backup")  # unknown: both stopped first
    # stops come before starts in the command lines
    cmds = plan.commands()
    kinds = [c[1] for c in cmds]
    assert kinds == sorted(kinds, key=lambda k: k != "--stop-daemon")


def test_plan_daemon_command_lines() -> None:
    facts = ipvs.KernelFacts(ipvs=True, daemons=frozenset({BACKUP}))
    plan = ipvs.plan(l4(True, interface="sync0", syncid=42), "active", facts)
    assert plan.commands() == [
        ["ipvsadm", "--stop-daemon", "backup"],
        ["ipvsadm", "--start-daemon", "master", "--mcast-interface", "sync0", "--syncid", "42"],
    ]


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (("3\t50", "0"), ()),
        (("3 50", "0"), ()),
        (("1\t50", "0"), (("sync_threshold", "4 60"),)),
        ((None, None), (("sync_threshold", "4 60"), ("sync_refresh_period", "0"))),
    ],
)
def test_plan_writes_threshold_and_period_in_one_write(
    current: tuple[str | None, str | None], expected: tuple[tuple[str, str], ...]
) -> None:
    facts = ipvs.KernelFacts(
        ipvs=True, sync_threshold=current[0], sync_refresh_period=current[1], daemons=frozenset()
    )
    params = (
        l4(False, threshold=4, period=60)
        if current[0] != "3\t50" and current[0] != "3 50"
        else l4(False)
    )
    assert ipvs.plan(params, "active", facts).sysctls == expected


def test_plan_without_ipvs_is_unsupported_and_does_nothing() -> None:
    for on, role in itertools.product((True, False), ROLES):
        plan = ipvs.plan(l4(on), role, ipvs.KernelFacts(ipvs=False))
        assert not plan.supported
        assert plan.reason == "ip_vs is not available in this kernel"
        assert plan.commands() == []
        assert plan.sysctls == ()


def test_plan_restarts_a_daemon_whose_interface_or_syncid_changed() -> None:
    facts = ipvs.KernelFacts(ipvs=True, daemons=frozenset({MASTER}))
    plan = ipvs.plan(l4(True, syncid=11), "active", facts)
    assert plan.stop == ("master",)
    assert plan.start == (replace(MASTER, syncid=11),)


# ---- HAProxy peers --------------------------------------------------------------------------


def test_render_lists_the_partner_only_when_given() -> None:
    local = peers.Peer(name="first", host="127.0.0.11", port=10000)
    partner = peers.Peer(name="second", host="127.0.0.12", port=10000)
    on = peers.render(local, partner)
    off = peers.render(local, None)
    assert on.splitlines()[1:] == [
        "peers hapair",
        "    peer first 127.0.0.11:10000",
        "    peer second 127.0.0.12:10000",
    ]
    assert off.splitlines()[1:] == ["peers hapair", "    peer first 127.0.0.11:10000"]
    assert on.startswith("#") and on.endswith("\n")
    v6 = peers.render(peers.Peer(name="second", host="2001:db8::12", port=10001), None)
    assert "    peer second 2001:db8::12:10001" in v6


SHOW_PEERS = """\
0x55d905b7ce30: [02/Dec/2026:04:15:09] id=hapair disabled=0 flags=0x6811 resync_timeout=4s
  0x55d905b7ff80: id=second(remote,{state}) addr=127.0.0.12:10000 last_status={status} last_hdshk=0s
        reconnect=4s heartbeat=2s confirm=0 tx_hbt=0 rx_hbt=0 no_hbt=0 new_conn=2 proto_err=0 coll=1
        flags=0x20000200 appctx:0x55d905d65100 st0=7 st1=0 task_calls=5 state=EST
        remote_table:0x55d905cae120 id=web local_id=1 remote_id=1
  0x55d905b7cfa0: id=first(local,inactive) addr=127.0.0.11:10000 last_status=NONE last_hdshk=<NEVER>
        reconnect=<NEVER> heartbeat=<NEVER> confirm=0 tx_hbt=0 rx_hbt=0 no_hbt=0 new_conn=0
"""


def test_peer_health_reads_show_peers_of_haproxy_2_6() -> None:
    up = peers.peer_health(SHOW_PEERS.format(state="active", status="ESTA"), "second")
    assert up == peers.PeerHealth(
        found=True, connected=True, last_status="ESTA", address="127.0.0.12:10000"
    )
    down = peers.peer_health(SHOW_PEERS.format(state="inactive", status="CONN"), "second")
    assert not down.connected and down.found and down.last_status == "CONN"
    partner = peers.Peer(name="second", host="127.0.0.12", port=10000)
    assert "not connected (last status CONN: connecting)" in peers.explain(down, partner)
    # the local peer is never "the partner"; another section is not ours
    assert not peers.peer_health(SHOW_PEERS.format(state="active", status="ESTA"), "first").found
    other = SHOW_PEERS.replace("id=hapair", "id=mine").format(state="active", status="ESTA")
    assert not peers.peer_health(other, "second").found
    assert not peers.peer_health("", "second").found


# ---- applied states and the switchover check -------------------------------------------------


def test_engine_parameters_are_applied_only_once_the_engine_runs_the_revision() -> None:
    p = HAParameters()
    kw = {"shared_interface": False, "interfaces": ()}
    assert (
        applied.engine_state(
            "ha_timeout", p, running=False, engine_revision=3, revision=3, **kw
        ).state
        == "pending"
    )  # type: ignore[arg-type]
    assert (
        applied.engine_state(
            "ha_timeout", p, running=True, engine_revision=2, revision=3, **kw
        ).state
        == "pending"
    )  # type: ignore[arg-type]
    assert (
        applied.engine_state(
            "ha_timeout", p, running=True, engine_revision=3, revision=3, **kw
        ).state
        == "applied"
    )  # type: ignore[arg-type]
    vmac = HAParameters(use_virtual_mac=True)
    assert (
        applied.engine_state(
            "use_virtual_mac", vmac, running=True, engine_revision=3, revision=3, **kw
        ).state
        == "unsupported"
    )  # type: ignore[arg-type]


def test_changed_lists_state_changes_not_detail_changes() -> None:
    a = {"x": AppliedState(state="failed", detail="one"), "y": AppliedState(state="applied")}
    b = {"x": AppliedState(state="failed", detail="two"), "y": AppliedState(state="pending")}
    assert applied.changed(a, b) == [("y", b["y"])]


def test_heartbeat_of_a_unit_before_v3_decodes_without_dataplane() -> None:
    from hapair.engine.pairlink.messages import encoder, hb_decoder

    hb = hb_decoder.decode(b'{"unit": "first", "role": "active"}')
    assert hb.dataplane is None
    hb = Heartbeat(unit="first")
    assert hb_decoder.decode(encoder.encode(hb)).dataplane is None


def _active_with_partner(l7: bool) -> m.State:
    config = m.Config(unit="first", mode="first", shared_address="127.0.0.10:80")
    s, _ = m.boot(config, m.Params(ha_timeout=3.0, l7_persistence_updates=l7), 0, 100.0, 1000.0)
    partner = Heartbeat(unit="second", mode="second", role="standby", replicating=True, boot_id="b")
    return replace(s, role="active", partner=partner, heard_at=100.0, serving=True)


def test_state_sync_check_only_when_l7_is_on_and_follows_the_peers_link() -> None:
    s = _active_with_partner(l7=False)
    assert "state-sync" not in [c.name for c in m.checks(s, 100.5)]
    s = _active_with_partner(l7=True)
    check = {c.name: c for c in m.checks(s, 100.5)}["state-sync"]
    assert not check.ok  # not seen yet
    s, _ = m.step(s, m.StateSyncSeen(now=100.6, ok=True, detail="peer second connected"))
    check = {c.name: c for c in m.checks(s, 100.7)}["state-sync"]
    assert check.ok and "peer second connected" in check.detail
    s, _ = m.step(s, m.StateSyncSeen(now=100.8, ok=False, detail="peer second not connected"))
    assert not {c.name: c for c in m.checks(s, 100.9)}["state-sync"].ok


@pytest.mark.parametrize(
    ("listen", "partner", "reported", "expected"),
    [
        # one host: each peer at its unit's direct address host, whatever was reported
        ("127.0.0.11:80", "127.0.0.12:80", "127.0.0.12", ("127.0.0.11", "127.0.0.12", True)),
        ("127.0.0.11:80", "127.0.0.12:80", None, ("127.0.0.11", "127.0.0.12", True)),
        # two hosts: the partner's address on multicast_interface, as its heartbeat said...
        ("192.0.2.11:80", "192.0.2.12:80", "198.51.100.12", ("192.0.2.11", "198.51.100.12", False)),
        # ...else its direct address's host (never an unspecified address)
        ("192.0.2.11:80", "192.0.2.12:80", None, ("192.0.2.11", "192.0.2.12", False)),
        ("192.0.2.11:80", "192.0.2.12:80", "0.0.0.0", ("192.0.2.11", "192.0.2.12", False)),
        ("[2001:db8::11]:80", "[2001:db8::12]:80", "", ("2001:db8::11", "2001:db8::12", False)),
        ("192.0.2.11:80", None, None, ("192.0.2.11", None, False)),
    ],
)
def test_peer_hosts(
    listen: str, partner: str | None, reported: str | None, expected: tuple[str, str | None, bool]
) -> None:
    assert peers.hosts(listen, partner, reported) == expected
