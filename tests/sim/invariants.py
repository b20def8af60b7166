"""What must hold of the simulated pair: invariants checked after every step, timed checks
(failover, no flapping) after every half interval of simulated time. The rules that disturb the
pair are in ``test_pair_sim.py``.

The timed checks count from the last fault. What the network does counts as one where it
changes what a unit may rightly decide (``lost``, ``held``, ``late``, ``gap``): a demote or
hand-over request or reply lost or held back (a lost one lasts until the asker's wait for
the answer runs out: ``waits``); a heartbeat lost or held back to or from a unit
that has not decided its role yet (hearing nothing, it takes the role after its initial wait);
a heartbeat that arrives late after its sender changed (stale news); heartbeats lost until none
got through for a heartbeat interval (runs of losses: the partner's news stops, as in a short
partition; after ``ha_timeout`` it is gone for the receiver). A single heartbeat lost, or held
back with nothing new, is no fault: it must change no role (no failover, no flapping, no second
active).
"""

from __future__ import annotations

from hypothesis.stateful import RuleBasedStateMachine, invariant

from hapair.engine.core import machine as m
from hapair.engine.node import DUE_AGAIN_S
from tests.sim.network import HEARTBEAT
from tests.sim.units import INTERVAL, NAMES, TRACK_FALL, TRACK_INTERVAL, TRACK_RISE, other
from tests.sim.world import World


class PairInvariants(RuleBasedStateMachine):
    """The checks on two simulated units; a subclass adds the rules (faults, requests)."""

    def __init__(self) -> None:
        super().__init__()
        self.disturbed = 0.0  # when the last fault or request happened
        self.expect_failover: tuple[str, float] | None = None  # (unit, end of its hold)
        self.waiting: dict[str, float] = {}  # unit -> end of its wait for a lost answer
        self.attach(World())

    def attach(self, world: World) -> None:
        """Checks ``world``; what its network loses or delays is told to the bookkeeping."""
        previous: World | None = self.__dict__.get("w")
        if previous is not None:
            previous.close()
        self.w = world
        world.net.on_loss = self.lost
        world.net.on_held = self.held
        world.net.on_gap = self.gap
        world.net.on_late = self.late
        world.net.on_wait = self.waits
        world.net.on_timeout = self.timed_out
        world.on_track = self.track_delivered

    def teardown(self) -> None:
        self.w.close()

    def track_delivered(self, at: float) -> None:
        """A track's result reached a unit: it may rightly change a role now."""
        self.disturbed = max(self.disturbed, at)

    def lost(self, at: float, a: str, b: str, kind: str) -> None:
        """A message lost: a fault if it is a request or its reply, or if it is a heartbeat
        to or from a unit that has not decided its role yet (hearing nothing, it takes the role
        after its initial wait; its request lost, no answer comes either). Other heartbeats
        lost are faults only once none got through for a heartbeat interval (``check_timed``,
        ``gap``): a single loss must change nothing."""
        if kind != HEARTBEAT or self.starting(a) or self.starting(b):
            self.disturbed = max(self.disturbed, at)

    def gap(self, at: float, a: str, b: str, silent: float) -> None:
        """Heartbeats get through again after ``silent`` seconds of losses: a fault if that
        was a heartbeat interval or more (the receiver may have decided at this moment)."""
        if silent >= INTERVAL - 1e-6:
            self.disturbed = max(self.disturbed, at)

    def held(self, at: float, a: str, b: str, kind: str) -> None:
        """A message held back (when it is sent): as a loss, until it arrives."""
        self.lost(at, a, b, kind)

    def late(self, at: float, a: str, b: str, kind: str, stale: bool) -> None:
        """A message held back arrives: a fault if it is a request or a reply (what it does
        happens only now), or if its sender has changed since (stale news)."""
        if kind != HEARTBEAT or stale:
            self.disturbed = max(self.disturbed, at)

    def waits(self, at: float, name: str, until: float) -> None:
        """A unit waits until ``until`` for the answer to a request (or reply) lost on the way:
        the loss is a fault that lasts until the wait runs out (``timed_out``)."""
        self.waiting[name] = max(self.waiting.get(name, 0.0), until)

    def timed_out(self, at: float, name: str) -> None:
        """A unit's wait for the answer to a lost request ran out: it learns only now that
        its request failed and may ask again (a fit standby whose demote request was lost takes
        the role from an active with a failed track only now)."""
        self.disturbed = max(self.disturbed, at)
        self.waiting.pop(name, None)

    def starting(self, name: str) -> bool:
        """A unit that has not decided its role: one that hears nothing takes it alone."""
        s = self.w.units[name].state
        return s is not None and s.role == "starting"

    def settle(self) -> float:
        """How long after the last fault the pair has one active (and keeps it)."""
        waits = max(u.redis.params.initial_wait_time for u in self.w.units.values())
        return self.ha_timeout() + 2 * INTERVAL + waits

    def healthy_unit(self, name: str) -> bool:
        u = self.w.units[name]
        return (
            u.alive
            and u.redis.up
            and u.link_up
            and u.state is not None
            and not u.state.config.pacified
        )

    def fit_unit(self, name: str) -> bool:
        """A healthy unit whose service is up, its engine told so, not in maintenance: it may
        hold the role."""
        u = self.w.units[name]
        return (
            self.healthy_unit(name)
            and u.service_ok
            and not u.track_due
            and u.state is not None
            and m.fit(u.state)
            and not u.state.maintenance
        )

    def healthy_pair(self) -> bool:
        both_in_maintenance = all(
            u.state is not None and u.state.maintenance for u in self.w.units.values()
        )
        return (
            not self.w.net.partitioned()
            and not both_in_maintenance
            and self.same_key()
            and all(self.healthy_unit(n) for n in NAMES)
        )

    def same_key(self) -> bool:
        """Both units were started with the same pair key."""
        return len({u.key for u in self.w.units.values()}) == 1

    def ha_timeout(self) -> float:
        return max(u.redis.params.ha_timeout for u in self.w.units.values())

    # ---- invariants ------------------------------------------------------------------------

    def check_timed(self) -> None:
        """Checked after every half interval of simulated time."""
        w, now = self.w, self.w.now
        if w.net.starved(now, INTERVAL - 1e-6):
            self.disturbed = now  # heartbeats lost for a heartbeat interval or more
        quiet = now - self.disturbed
        actives = [n for n in NAMES if w.units[n].alive and w.units[n].state.role == "active"]  # type: ignore[union-attr]
        if self.healthy_pair():
            assert len(actives) <= 1 or quiet < 2 * INTERVAL + 1e-9, self.report(
                f"two actives {quiet:.1f} s after the last fault"
            )
            settle = self.settle()
            holder_possible = any(self.fit_unit(n) for n in NAMES) or actives
            assert not holder_possible or len(actives) == 1 or quiet < settle + 1e-9, self.report(
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
            self.check_fit_active(actives, now)
        self.check_adverts_keep_the_roles()
        self.check_update_link()
        self.check_direct_link()
        if (
            not self.same_key()
            and not w.net.partitioned()
            and all(u.alive for u in w.units.values())
        ):
            # two keys: each refuses the other, whose refusals are answers that fail
            # authentication: once both have seen that for the grace, neither is active
            settle = self.ha_timeout() + m.AUTH_GRACE_S + 2 * INTERVAL
            assert len(actives) == 0 or quiet < settle + 1e-9, self.report(
                f"{actives} active {quiet:.1f} s after the last fault, with two pair keys"
            )
        if self.expect_failover is not None:
            name, hold_until = self.expect_failover
            # the deadline: the last heartbeat or advert that reached the survivor (one may
            # still have been on its way at the fault) + ha_timeout, or the end of its hold if
            # later
            heard = max(
                w.net.links[other(name), name].heard_at,
                w.net.advert_at.get((other(name), name), 0.0),
            )
            deadline = max(hold_until, heard + self.ha_timeout())
            u = w.units[name]
            # a deadline timer that fires early is armed again for at least DUE_AGAIN_S (node
            # ``_due``), so with early timers the takeover may come that much after the deadline
            late = 2 * DUE_AGAIN_S
            taken = u.state is not None and u.state.role == "active"
            if now >= deadline - 1e-9 and (taken or now > deadline + late):
                assert taken, self.report(f"{name} not active {ha_timeout_note(u)} by t={deadline}")
                # decided at the deadline itself (a timer), never at a tick after it
                assert u.active_at is not None and u.active_at <= deadline + late, self.report(
                    f"{name} took over at t={u.active_at}, after its deadline t={deadline}"
                )
                self.expect_failover = None

    def check_adverts_keep_the_roles(self) -> None:
        """Only the HTTP path is cut, both ways; the adverts flow, the units are healthy and
        share a key: once settled, no unit takes the role for a lost partner (SPEC 5b': a
        standby that hears its active's adverts does not fail over)."""
        w = self.w
        http_cut = all(link.cut for link in w.net.links.values())
        if not (http_cut and w.net.adverts_flow() and self.same_key()):
            return
        if not all(self.healthy_unit(n) for n in NAMES):
            return
        stable_since = self.disturbed + self.settle() + INTERVAL
        lost = [
            c for c in w.changes if c.at > stable_since and c.transition.cause == "partner-lost"
        ]
        assert not lost, self.report(f"failed over while the adverts flow: {lost}")

    def check_update_link(self) -> None:
        """Only the update link is cut, both ways, on a healthy pair: once the cut has lasted
        ha_timeout + 2 heartbeats, each unit shows ``links.update`` false, is not in sync and
        has the alert ``update-link-down`` (SPEC 5b'); no role changes meanwhile (the
        stable-network check in ``check_timed`` covers that)."""
        w, now = self.w, self.w.now
        cut = w.net.update_cut
        if len(cut) != 2 or not self.healthy_pair() or w.net.degraded():
            return
        if now - max(self.disturbed, *cut.values()) < self.settle() + 2 * INTERVAL:
            return
        for u in w.units.values():
            s = u.state
            assert s is not None
            if m.fresh_partner(s, now) is None:
                continue  # (a partner heard on no link is unreachable, not this)
            assert not m.links(s, now).update, self.report(f"{u.name}: links.update true")
            assert not m.in_sync(s, now), self.report(f"{u.name}: in sync, update link cut")
            assert "update-link-down" in [a.reason for a in s.alerts], self.report(
                f"{u.name}: no update-link-down alert"
            )

    def check_direct_link(self) -> None:
        """Only the direct link is cut, both ways, on a healthy pair: once the cut has lasted
        ha_timeout + 2 heartbeats, each unit shows ``links.heartbeat`` false and
        ``links.update`` true, and no alert of a link (the update link carries everything)."""
        w, now = self.w, self.w.now
        cut = w.net.direct_cut
        if len(cut) != 2 or not self.healthy_pair() or w.net.degraded():
            return
        if now - max(self.disturbed, *cut.values()) < self.settle() + 2 * INTERVAL:
            return
        for u in w.units.values():
            s = u.state
            assert s is not None
            if m.fresh_partner(s, now) is None:
                continue
            links = m.links(s, now)
            assert not links.heartbeat and links.update, self.report(f"{u.name}: {links}")
            assert "update-link-down" not in [a.reason for a in s.alerts], self.report(
                f"{u.name}: update-link-down while the update link carries the heartbeats"
            )

    def check_fit_active(self, actives: list[str], now: float) -> None:
        """While a fit unit exists and its partner's service has failed, the fit one is the
        active within interval x fall + 2 heartbeats of the failure (or of it becoming fit, or
        of the last fault; a request lost on the way is a fault until the asker's wait for its
        answer runs out): the active hands over, or, when the failed one stepped down alone,
        the fit one takes the role (after its initial wait, when it has just booted)."""
        if len(actives) > 1 or any(until > now for until in self.waiting.values()):
            return  # (a unit waits for the answer to a request lost on the way)
        if self.w.net.update_cut:
            return  # no hand-over while the partner is not in sync (replication is cut)
        if actives:
            x = self.w.units[actives[0]]
        else:
            failed = [u for u in self.w.units.values() if not u.service_ok]
            if len(failed) != 1:
                return
            x = failed[0]
        y_name = other(x.name)
        y = self.w.units[y_name]
        if x.service_ok or not self.fit_unit(y_name):
            return
        detect = TRACK_INTERVAL * TRACK_FALL
        since = max(
            x.service_since,
            y.service_since + TRACK_INTERVAL * TRACK_RISE,
            self.disturbed,
        )
        deadline = since + detect + 2 * INTERVAL
        if not actives:
            deadline += max(u.redis.params.initial_wait_time for u in self.w.units.values())
        assert now < deadline + 1e-9, self.report(
            f"{actives[0] if actives else 'no unit'} active, {x.name}'s service failed, "
            f"{y_name} fit since before t={since:.2f}: not the active by t={deadline:.2f}"
        )

    @invariant()
    def unit_with_a_failed_track_never_promoted(self) -> None:
        assert not self.w.promoted_unfit, self.report(
            f"promoted with a failed track: {self.w.promoted_unfit}"
        )

    @invariant()
    def never_two_actives_that_heard_each_other(self) -> None:
        """Two actives can exist only while at least one has not heard the other (a
        partition, a freeze, a wrong key): one that hears an active partner goes grey."""
        units = list(self.w.units.values())
        heard = [
            u.alive
            and u.state is not None
            and u.state.role == "active"
            and (p := m.fresh_partner(u.state, self.w.now)) is not None
            and p.role == "active"
            for u in units
        ]
        assert not all(heard), self.report("two actives that both heard each other active")

    @invariant()
    def no_failover_while_the_partners_adverts_are_heard(self) -> None:
        """A unit that hears its partner only by advert (told of one within ha_timeout, no
        heartbeat) never takes the role for a lost partner, nor alone at boot: the partner is
        alive (SPEC 5b')."""
        for c in self.w.changes:
            # (a unit that waits alone, not_operational or starting, takes no role: found by an
            # explore, a not_operational unit's "boot-alone" transition into starting)
            alone = c.transition.cause in ("partner-lost", "boot-alone") and c.decided == "active"
            assert not (alone and c.advert_only), self.report(
                f"{c.unit} took the role for a lost partner whose adverts it heard: {c}"
            )

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
    def in_sync_never_claims_more_than_is_true(self) -> None:
        """A unit that says the pair is in sync (``machine.sync``, the one rule behind the
        status, ``wait_in_sync`` and the ``partner-in-sync`` check, on the revisions its status
        reads from both Redis) has a standby whose Redis follows the active's and holds its
        revision, unless what it knows of its partner is stale news (the partner's role or
        replication changed since its last heartbeat got through: a heartbeat interval at
        most on a network that delivers)."""
        w = self.w
        for u in w.units.values():
            s = u.state
            if not u.alive or s is None or s.partner is None:
                continue
            partner = w.units[other(u.name)]
            mine = u.redis.revision if u.redis.up else None
            readable = (
                partner.redis.up
                and w.reaches(u.name, partner.name)
                and w.reaches(partner.name, u.name)
            )
            theirs = partner.redis.revision if readable else None
            if not m.sync(s, w.now, revision=mine, partner_revision=theirs).in_sync:
                continue
            if not partner.alive or partner.state is None:
                # it died since its last word reached this unit (within ha_timeout, else no
                # claim): stale news, which ha_timeout ends. Found by a CI run: the standby
                # rebooted pacified (its Redis promoted) and was killed before its first new
                # heartbeat got through; the active still had its "standby, replicating"
                continue
            now_says = m.heartbeat(partner.state, w.now)
            said = s.partner
            if (now_says.role, now_says.replicating) != (said.role, said.replicating):
                continue  # stale news
            active, standby = (u, partner) if s.role == "active" else (partner, u)
            cut_at = w.net.update_cut.get((active.name, standby.name))
            if cut_at is not None and w.now < cut_at + s.params.ha_timeout:
                # the update link cut silently: nothing tells either Redis (its own timeout is
                # a minute); the rule says not in sync once it carried nothing for ha_timeout
                continue
            truth = (
                standby.redis.up
                and active.redis.up
                and standby.redis.replica_of == active.name
                and standby.redis.revision == active.redis.revision
            )
            assert truth, self.report(
                f"{u.name} claims in sync: {active.name} active at {active.redis.revision}, "
                f"{standby.name} replica of {standby.redis.replica_of} at "
                f"{standby.redis.revision}"
            )

    @invariant()
    def the_shell_fails_nothing(self) -> None:
        """No step, action, tick or background task of a node failed, no API request got a
        500, no callback of a loop raised."""
        assert not self.w.errors, self.report(f"the shell failed: {self.w.errors}")

    @invariant()
    def causes_are_from_the_spec(self) -> None:
        for c in self.w.changes:
            assert c.transition.cause in m.CAUSES, c

    def report(self, what: str) -> str:
        return what + "\n" + "\n".join(self.w.log[-60:])


def ha_timeout_note(u: object) -> str:
    state = getattr(u, "state", None)
    return f"(role {getattr(state, 'role', None)})"
