"""The pair simulated under faults: hypothesis chooses what happens, invariants hold after
every step.

CI runs a bounded number of examples; a long run:
``HAPAIR_SIM_EXAMPLES=5000 python -m pytest tests/sim -p no:cacheprovider``.
A failure prints the rules that led to it (a reproducible sequence) and the world's log.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from hapair.engine import machine as m
from tests.sim.world import INTERVAL, NAMES, World, other

EXAMPLES = int(os.environ.get("HAPAIR_SIM_EXAMPLES", "500"))
units = st.sampled_from(NAMES)


class PairUnderFaults(RuleBasedStateMachine):
    """Two units, one network, faults chosen by hypothesis."""

    def __init__(self) -> None:
        super().__init__()
        self.w = World()
        self.disturbed = 0.0  # when the last fault or request happened
        self.expect_failover: tuple[str, float] | None = None  # (unit, deadline)

    # ---- set-up ----------------------------------------------------------------------------

    @initialize(
        ha_timeout=st.sampled_from([3.0, 6.0]),
        initial_wait=st.sampled_from([0.0, 2.0]),
        preferred=st.sampled_from(["none", "first", "second"]),
        together=st.booleans(),
    )
    def boot(self, ha_timeout: float, initial_wait: float, preferred: str, together: bool) -> None:
        self.w = World(ha_timeout=ha_timeout, initial_wait=initial_wait)
        for u in self.w.units.values():
            u.redis.params = m.Params(
                ha_timeout=ha_timeout, initial_wait_time=initial_wait, preferred_server=preferred
            )
        self.w.start("first")
        if not together:
            self.w.advance(int(2 * (initial_wait + 2)), self.check_timed)
        self.w.start("second")
        self.disturbed = self.w.now

    def fault(self) -> None:
        """A fault or a request: the stable-network invariants start counting again."""
        self.disturbed = self.w.now
        self.expect_failover = None

    def healthy_unit(self, name: str) -> bool:
        u = self.w.units[name]
        return (
            u.alive
            and u.redis.up
            and u.link_up
            and u.state is not None
            and not u.state.config.pacified
        )

    def healthy_pair(self) -> bool:
        both_in_maintenance = all(
            u.state is not None and u.state.maintenance for u in self.w.units.values()
        )
        return (
            not self.w.blocked
            and not both_in_maintenance
            and all(self.healthy_unit(n) for n in NAMES)
        )

    def ha_timeout(self) -> float:
        return max(u.redis.params.ha_timeout for u in self.w.units.values())

    # ---- time ------------------------------------------------------------------------------

    @rule(half_intervals=st.integers(1, 24))
    def advance(self, half_intervals: int) -> None:
        self.w.advance(half_intervals, self.check_timed)

    # ---- faults ----------------------------------------------------------------------------

    @rule(name=units)
    def kill(self, name: str) -> None:
        was_active = self.w.units[name].state is not None and self.w.units[name].alive
        role = self.w.units[name].state.role if was_active else None  # type: ignore[union-attr]
        self.fault()
        self.w.kill(name)
        self.expect(name, role)

    @rule(name=units)
    def pause(self, name: str) -> None:
        u = self.w.units[name]
        role = u.state.role if u.alive and u.state is not None else None
        self.fault()
        u.paused = True
        self.w.note(f"{name} paused")
        self.expect(name, role)

    def expect(self, gone: str, role: str | None) -> None:
        """A healthy standby whose active died or froze takes over within ha_timeout + 1
        heartbeat (after its hold, if it has just handed the role over)."""
        survivor = self.w.units[other(gone)]
        s = survivor.state
        if role != "active" or not self.healthy_unit(survivor.name) or s is None:
            return
        if s.role != "standby" or s.maintenance or self.w.blocked:
            return  # a unit in maintenance never takes over
        start = max(self.w.now, s.hold_until - s.params.ha_timeout)
        self.expect_failover = (survivor.name, start + s.params.ha_timeout + INTERVAL)

    @rule(name=units)
    def resume(self, name: str) -> None:
        u = self.w.units[name]
        if u.paused:
            self.fault()
            u.paused = False
            self.w.note(f"{name} resumed")

    @rule(name=units)
    def restart(self, name: str) -> None:
        if self.w.units[name].state is None:
            self.fault()
            self.w.start(name)

    @rule(name=units, times=st.integers(1, 5))
    def reboot_loop(self, name: str, times: int) -> None:
        self.fault()
        for _ in range(times):
            self.w.kill(name)
            self.w.start(name)
            self.w.advance(1, self.check_timed)

    @rule(kind=st.sampled_from(["both", "first->second", "second->first"]))
    def partition(self, kind: str) -> None:
        self.fault()
        if kind in ("both", "first->second"):
            self.w.blocked.add(("first", "second"))
        if kind in ("both", "second->first"):
            self.w.blocked.add(("second", "first"))
        self.w.note(f"partition {kind}")

    @rule()
    def heal(self) -> None:
        if self.w.blocked:
            self.fault()
            self.w.blocked.clear()
            self.w.note("healed")

    @rule(name=units, up=st.booleans())
    def redis(self, name: str, up: bool) -> None:
        if self.w.units[name].redis.up != up:
            self.fault()
            self.w.units[name].redis.up = up
            self.w.note(f"{name} redis {'up' if up else 'down'}")

    @rule(name=units, up=st.booleans())
    def link(self, name: str, up: bool) -> None:
        if self.w.units[name].link_up != up:
            self.fault()
            self.w.units[name].link_up = up
            self.w.note(f"{name} link {'up' if up else 'down'}")

    # ---- requests and writes ---------------------------------------------------------------

    @rule(count=st.integers(1, 5))
    def writes(self, count: int) -> None:
        for _ in range(count):
            self.w.write()

    @rule(
        preferred=st.sampled_from(["none", "first", "second"]),
        hard_reboot=st.booleans(),
    )
    def write_params(self, preferred: str, hard_reboot: bool) -> None:
        holder = self.w.shared_holder
        if holder is None:
            return
        current = self.w.units[holder].redis.params
        self.fault()
        self.w.write(
            m.Params(
                ha_timeout=current.ha_timeout,
                initial_wait_time=current.initial_wait_time,
                preferred_server=preferred,
                hard_reboot_on_link_failure=hard_reboot and preferred == "none",
            )
        )

    @rule(name=units)
    def takeover(self, name: str) -> None:
        self.fault()
        reply = self.w.ask(name, lambda now, r: m.TakeoverAsked(now=now, request=r))
        self.w.note(f"takeover on {name}: {reply}")

    @rule(name=units, dry_run=st.booleans())
    def switchover(self, name: str, dry_run: bool) -> None:
        self.fault()
        reply = self.w.ask(
            name, lambda now, r: m.SwitchoverAsked(now=now, request=r, dry_run=dry_run)
        )
        self.w.note(f"switchover on {name} (dry run {dry_run}): {reply}")

    @rule(name=units, enabled=st.booleans(), force=st.booleans())
    def maintenance(self, name: str, enabled: bool, force: bool) -> None:
        self.fault()
        reply = self.w.ask(
            name,
            lambda now, r: m.MaintenanceSet(now=now, request=r, enabled=enabled, force=force),
        )
        self.w.note(f"maintenance {enabled} on {name} (force {force}): {reply}")

    # ---- invariants ------------------------------------------------------------------------

    def check_timed(self) -> None:
        """Checked after every half interval of simulated time."""
        w, now = self.w, self.w.now
        quiet = now - self.disturbed
        actives = [n for n in NAMES if w.units[n].alive and w.units[n].state.role == "active"]  # type: ignore[union-attr]
        if self.healthy_pair():
            assert len(actives) <= 1 or quiet < 2 * INTERVAL + 1e-9, self.report(
                f"two actives {quiet:.1f} s after the last fault"
            )
            settle = (
                self.ha_timeout()
                + 2 * INTERVAL
                + max(u.redis.params.initial_wait_time for u in w.units.values())
            )
            assert len(actives) == 1 or quiet < settle + 1e-9, self.report(
                f"{len(actives)} actives {quiet:.1f} s after the last fault"
            )
            # no flapping: a stable network changes no role without a fault or a request
            stable_since = self.disturbed + settle + INTERVAL
            flaps = [
                c
                for c in w.changes
                if c.at > stable_since and c.transition.cause not in ("preferred-return", "demoted")
            ]
            assert not flaps, self.report(f"role changes on a stable network: {flaps}")
        if self.expect_failover is not None:
            name, deadline = self.expect_failover
            if now >= deadline:
                u = w.units[name]
                assert u.state is not None and u.state.role == "active", self.report(
                    f"{name} not active {ha_timeout_note(u)} by t={deadline}"
                )
                self.expect_failover = None

    @invariant()
    def pacified_never_active(self) -> None:
        for u in self.w.units.values():
            if u.state is not None and u.state.config.pacified:
                assert u.state.role != "active", self.report(f"{u.name} pacified and active")

    @invariant()
    def maintenance_never_active(self) -> None:
        for u in self.w.units.values():
            if u.state is not None and u.state.maintenance:
                assert u.state.role != "active", self.report(f"{u.name} in maintenance, active")

    @invariant()
    def holding_unit_never_takes_the_role_back(self) -> None:
        # Holding (just handed the role over) it may still take over from a partner that
        # cannot hold the role (pacified, lost its Redis...), never merely because it has not
        # heard from it or by its own preference.
        for c in self.w.changes:
            if c.transition.to_role == "active" and c.holding_before:
                assert c.transition.cause not in (
                    "partner-lost",
                    "boot-negotiated",
                    "preferred-return",
                ), self.report(f"{c.unit} took the role back while holding: {c}")

    @invariant()
    def no_acknowledged_revision_lost(self) -> None:
        kept: set[str] = set()
        for u in self.w.units.values():
            kept |= u.redis.ids() | u.redis.conflicts
        lost = self.w.acknowledged - kept
        assert not lost, self.report(f"acknowledged revisions lost: {sorted(lost)}")

    @invariant()
    def dropped_revisions_are_archived(self) -> None:
        assert not self.w.silently_dropped, self.report(
            f"revisions dropped without an archive: {self.w.silently_dropped}"
        )

    @invariant()
    def causes_are_from_the_spec(self) -> None:
        for c in self.w.changes:
            assert c.transition.cause in m.CAUSES, c

    def report(self, what: str) -> str:
        return what + "\n" + "\n".join(self.w.log[-60:])


def ha_timeout_note(u: object) -> str:
    state = getattr(u, "state", None)
    return f"(role {getattr(state, 'role', None)})"


PairUnderFaults.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=40,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
test_pair_under_faults = PairUnderFaults.TestCase
