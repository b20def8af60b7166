"""The data plane's shell in-process: what it reports and tells the engine, without HAProxy
and with a kernel that has no IPVS (a proc root without ``sys/net/ipv4/vs``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from hapair.domain.parameters import HAParameters
from hapair.engine.dataplane.plane import DataPlane, Inputs
from hapair.engine.pairlink.messages import AppliedState
from hapair.settings import Settings


def _inputs(revision: int, **kw: object) -> Inputs:
    base: dict[str, object] = {
        "running": True,
        "unit": "first",
        "role": "active",
        "revision": revision,
        "engine_revision": revision,
        "params": HAParameters(),
        "shared_address": "127.0.0.10:8080",
        "local_host": "127.0.0.11",
        "partner": "second",
        "partner_host": "127.0.0.12",
        "one_host": True,
    }
    base.update(kw)
    return Inputs(**base)  # type: ignore[arg-type]


def test_reports_every_parameter_and_announces_only_changes(tmp_path: Path) -> None:
    changes: list[tuple[str, str, bool]] = []
    syncs: list[tuple[bool, str]] = []

    def changed(name: str, state: AppliedState, initial: bool) -> None:
        changes.append((name, state.state, initial))

    plane = DataPlane(
        Settings(data_dir=tmp_path, proc_root=tmp_path),
        on_change=changed,
        on_state_sync=lambda ok, detail: syncs.append((ok, detail)),
    )

    async def run() -> None:
        report = await plane.apply(_inputs(3))
        assert report.observed_revision == 3
        assert set(report.parameters) == set(HAParameters.__struct_fields__) - {
            "revision",
            "updated_at",
            "virtual_id_source",
        }
        assert report.parameters["l7_persistence_updates"].detail.startswith(
            "no HAProxy configured"
        )
        assert all(initial for _, _, initial in changes)  # the boot's states: metrics only
        assert syncs == [(False, report.parameters["l7_persistence_updates"].detail)]
        changes.clear()
        # the engine not yet on the new revision: its parameters are pending, then applied
        await plane.apply(_inputs(4, engine_revision=3))
        assert ("ha_timeout", "pending", False) in changes
        changes.clear()
        await plane.apply(_inputs(4))
        assert ("ha_timeout", "applied", False) in changes
        assert len(syncs) == 1  # nothing new for the state-sync check
        # an engine reboot: its new state learns the state-sync facts again
        plane.start()
        await plane.stop()
        plane.start()
        await plane.apply(_inputs(4))
        assert len(syncs) == 2
        await plane.stop()

    asyncio.run(run())


def test_stop_ends_the_worker_even_when_it_was_just_woken(tmp_path: Path) -> None:
    """``stop()`` while the worker's wake-up is already under way (the engine's reboot
    right after a change): the worker ends. With ``asyncio.wait_for`` on Python 3.11 the
    cancellation was lost when the wait finished in the same loop turn, the worker looped on
    and the reboot waited for it forever (found by the in-process tier's rapid reboots)."""
    plane = DataPlane(
        Settings(data_dir=tmp_path, proc_root=tmp_path),
        on_change=lambda *_: None,
        on_state_sync=lambda *_: None,
    )

    async def run() -> None:
        plane.start()
        worker = plane._task
        assert worker is not None
        await asyncio.sleep(0.05)  # the worker waits for work
        plane._dirty.set()  # wakes it: its wait completes in the next loop turn...
        worker.cancel()  # ...the turn its cancellation lands in (stop() cancels it so)
        # a hang detector, not a stopwatch: the worker ends at its next step
        done, _ = await asyncio.wait({worker}, timeout=3)
        assert worker in done, "the cancelled worker went on (its cancellation was lost)"
        await plane.stop()

    asyncio.run(run())


def test_idle_look_applies_nothing_until_ipvs_appears(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No HAProxy, no IPVS, inputs unchanged: the interval's look is a stat and applies
    nothing (issue 23's idle cost); IPVS loaded later is still found by that look, with no
    change of the inputs, and applied."""
    monkeypatch.setenv("PATH", str(tmp_path))  # no ipvsadm of this host's is ever run
    plane = DataPlane(
        Settings(data_dir=tmp_path, proc_root=tmp_path),
        on_change=lambda *_: None,
        on_state_sync=lambda *_: None,
    )
    plane.interval = 0.01
    applies: list[int] = []
    looks: list[bool] = []
    apply, look = plane.apply, plane._nothing_to_look_at

    async def counted_apply(inputs: Inputs) -> object:
        applies.append(inputs.revision)
        return await apply(inputs)

    def counted_look(inputs: Inputs) -> bool:
        looks.append(found := look(inputs))
        return found

    plane.apply = counted_apply  # type: ignore[method-assign,assignment]
    plane._nothing_to_look_at = counted_look  # type: ignore[method-assign]

    async def until(what: str, ok: object) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not ok():  # type: ignore[operator]
            assert loop.time() < deadline, what
            await asyncio.sleep(0.01)

    async def run() -> None:
        plane.update(_inputs(3))
        plane.start()
        await until("three idle looks", lambda: looks.count(True) >= 3)
        assert applies == [3]  # the first apply only
        assert plane.report.parameters["l4_sync_refresh_period"].state == "unsupported"
        vs = tmp_path / "sys/net/ipv4/vs"
        vs.mkdir(parents=True)
        (vs / "sync_threshold").write_text("3\t50\n")
        (vs / "sync_refresh_period").write_text("0\n")
        await until(
            "IPVS found",
            lambda: plane.report.parameters["l4_sync_refresh_period"].state == "applied",
        )
        assert applies[:2] == [3, 3]
        await plane.stop()

    asyncio.run(run())
