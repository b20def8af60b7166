"""Carrying out an IPVS plan against a fake proc root and a fake ``ipvsadm`` on ``PATH``."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from hapair.engine.dataplane import ipvs, kernel


def _fake(bin_dir: Path, log: Path, rc: int = 0) -> None:
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "ipvsadm"
    script.write_text(f'#!/bin/sh\necho "$*" >> {log}\necho "ipvsadm said no" >&2\nexit {rc}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def _proc(root: Path) -> Path:
    vs = root / "sys/net/ipv4/vs"
    vs.mkdir(parents=True)
    (vs / "sync_threshold").write_text("3\t50\n")
    (vs / "sync_refresh_period").write_text("0\n")
    return vs


WANTED = ipvs.L4Parameters(
    on=True, threshold=5, period=100, refresh_period=3, interface="sync0", syncid=7
)


def test_carry_out_writes_sysctls_and_runs_ipvsadm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "argv.log"
    _fake(tmp_path / "bin", log)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    vs = _proc(tmp_path / "proc")
    facts = kernel.read_facts(tmp_path / "proc", None)
    assert facts.ipvs and facts.sync_threshold == "3\t50"
    plan = ipvs.plan(WANTED, "standby", facts)
    outcome = asyncio.run(kernel.carry_out(plan, tmp_path / "proc"))
    assert outcome.sysctl_error is None and outcome.daemon_error is None
    assert (vs / "sync_threshold").read_text() == "5 100\n"
    assert (vs / "sync_refresh_period").read_text() == "3\n"
    assert log.read_text().splitlines() == [
        "--stop-daemon master",
        "--stop-daemon backup",
        "--start-daemon backup --mcast-interface sync0 --syncid 7",
    ]


def test_carry_out_reports_a_failing_or_missing_ipvsadm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _proc(tmp_path / "proc")
    facts = kernel.read_facts(tmp_path / "proc", frozenset())
    plan = ipvs.plan(WANTED, "active", facts)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    outcome = asyncio.run(kernel.carry_out(plan, tmp_path / "proc"))
    assert outcome.daemon_error == "ipvsadm not found on PATH"
    _fake(tmp_path / "bin", tmp_path / "argv.log", rc=2)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    outcome = asyncio.run(kernel.carry_out(plan, tmp_path / "proc"))
    assert outcome.daemon_error is not None
    assert outcome.daemon_error.endswith("exited 2: ipvsadm said no")


def test_no_ipvs_directory_means_no_ipvs(tmp_path: Path) -> None:
    assert kernel.read_facts(tmp_path, None) == ipvs.KernelFacts(ipvs=False)


def test_interface_ipv4_reads_the_address_of_an_interface() -> None:
    assert kernel.interface_ipv4("lo") == "127.0.0.1"
    assert kernel.interface_ipv4("no-such-if0") is None
