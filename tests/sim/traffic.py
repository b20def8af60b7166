"""What the units say to each other over the simulated network (``network.py``), as the driver
does: heartbeat exchanges, demote and hand-over requests, and their answers.

A message lost or held back on the way there or back is the network's to decide. An answer
goes only to the process that asked (one restarted since waits for nothing). A request or
reply lost makes the asker fail once the driver's wait runs out; a link cut or a partner gone
refuses at once, as a refused connection does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import msgspec

from hapair.engine.core import machine as m
from hapair.engine.pairlink.messages import Heartbeat
from tests.sim.network import HEARTBEAT
from tests.sim.units import Unit, other

if TYPE_CHECKING:
    from tests.sim.world import World

DEMOTE_WAIT = 5.0  # how long the driver waits for the partner's answer to a demote
HANDOVER_WAIT = 20.0  # and to a hand-over


def over_update(hb: Heartbeat) -> Heartbeat:
    """The same heartbeat, as it comes over the update link."""
    return msgspec.structs.replace(hb, via="update")


class Traffic:
    """The messages between the units of one world."""

    def __init__(self, world: World) -> None:
        self.w = world
        # hand-overs the partner works on: (asking unit, its request, the partner's, when
        # asked, the asking process' incarnation)
        self.handovers: list[tuple[str, int, int, float, int]] = []

    def carry(
        self,
        a: str,
        b: str,
        kind: str,
        arrive: Callable[[], None],
        stale: Callable[[], bool] = lambda: False,
    ) -> bool:
        """A message from ``a`` to ``b`` over a link that is not cut: ``arrive`` runs when it
        gets there (at once, or when the clock reaches it); False if it is lost. ``stale``:
        whether what it says is no longer true when it arrives late."""
        w = self.w
        delay = w.net.send(a, b, w.now, kind)
        if delay is None:
            w.note(f"lost: {kind} {a} -> {b}")
            return False
        if not delay:
            w.net.arrived(a, b, w.now, kind, late=False, stale=False)
            arrive()
            return True

        def late() -> None:
            w.note(f"late by {delay:g} s: {kind} {a} -> {b}")
            w.net.arrived(a, b, w.now, kind, late=True, stale=stale())
            arrive()

        w.net.later(w.now + delay, late)
        return True

    def answer(self, name: str, gen: int, event: m.Event) -> None:
        """An answer for ``name``'s process ``gen`` (one restarted since is not waiting)."""
        if self.w.units[name].incarnation == gen:
            self.w.deliver(name, event)

    def time_out(self, name: str, gen: int, at: float, request: int | None, *,
                 handover: bool) -> None:  # fmt: skip
        """The asker's wait for a lost request or reply runs out at ``at``."""
        w = self.w
        w.net.on_wait(w.now, name, at)

        def fail() -> None:
            w.note(f"{name}'s {'hand-over' if handover else 'demote'} request timed out")
            if w.units[name].incarnation == gen:
                w.net.on_timeout(w.now, name)  # the loss acts only now
            if handover:
                assert request is not None
                event: m.Event = m.HandoverDone(now=w.now, request=request,
                                                error="partner-unavailable")  # fmt: skip
            else:
                event = m.PartnerDemoteFailed(now=w.now, request=request, error="timed out")
            self.answer(name, gen, event)

        w.net.later(at, fail)

    def changed(self, u: Unit, gen: int, hb: Heartbeat) -> bool:
        """``u``'s heartbeat ``hb`` (from its process ``gen``) is no longer what it says."""
        s = u.state
        if s is None or u.incarnation != gen:
            return True
        return (s.role, s.maintenance, s.serving) != (hb.role, hb.maintenance, hb.serving_shared)

    def reachable(self, u: Unit, p: Unit) -> bool:
        """The partner's process runs and the links both ways are not cut."""
        return p.alive and self.w.reaches(u.name, p.name) and self.w.reaches(p.name, u.name)

    # ---- the messages ----------------------------------------------------------------------

    def exchange(self, name: str) -> None:
        """One heartbeat exchange started by ``name``: its heartbeat, the partner's answer."""
        w = self.w
        u, p = w.units[name], w.units[other(name)]
        if not u.alive or not p.alive or not w.reaches(name, p.name):
            return
        mine, gen = w.heartbeat_of(u), u.incarnation
        if u.key != p.key:
            self.refused(u, p, gen)
            return

        def at_partner() -> None:
            if not p.alive:
                return
            if w.net.direct_flows(name, p.name):
                w.deliver(p.name, m.Heard(now=w.now, heartbeat=mine))
            if w.net.update_flows(name, p.name):  # its copy over the update link (SPEC 5b')
                w.deliver(p.name, m.Heard(now=w.now, heartbeat=over_update(mine)))
            if w.reaches(p.name, name):
                theirs, pgen = w.heartbeat_of(p), p.incarnation

                def answered() -> None:
                    if w.net.direct_flows(p.name, name):
                        self.answer(name, gen, m.Heard(now=w.now, heartbeat=theirs))
                    if w.net.update_flows(p.name, name):
                        self.answer(name, gen, m.Heard(now=w.now, heartbeat=over_update(theirs)))

                self.carry(p.name, name, HEARTBEAT, answered, lambda: self.changed(p, pgen, theirs))

        self.carry(name, p.name, HEARTBEAT, at_partner, lambda: self.changed(u, gen, mine))

    def refused(self, u: Unit, p: Unit, gen: int) -> None:
        """``u``'s heartbeat to a partner started with another pair key: it is refused, and the
        refusal is an answer (the partner is there) that fails authentication."""
        w = self.w

        def at_partner() -> None:
            if p.alive and w.reaches(p.name, u.name):
                refusal = m.PartnerAnswered(now=w.now, auth_failed="another pair key")
                self.carry(
                    p.name,
                    u.name,
                    HEARTBEAT,
                    lambda: self.answer(u.name, gen, replace(refusal, now=w.now)),
                )

        self.carry(u.name, p.name, HEARTBEAT, at_partner)

    def ask_demote(self, u: Unit, request: int | None, cause: str) -> None:
        """``AskDemote``: the partner steps down; once this unit's Redis holds its last
        revision, ``PartnerDemoted``."""
        w = self.w
        p = w.units[other(u.name)]
        if not self.reachable(u, p) or u.key != p.key:
            w.deliver(u.name, m.PartnerDemoteFailed(now=w.now, request=request, error="x"))
            return
        asked, gen = w.now, u.incarnation

        def demoted() -> None:
            if u.incarnation != gen:
                return
            w.sync()  # the driver waits for its Redis to hold the partner's last revision
            if u.redis.up:
                w.deliver(u.name, m.StoreRead(now=w.now, revision=u.redis.revision,
                                              params=u.redis.params))  # fmt: skip
            w.deliver(u.name, m.PartnerDemoted(now=w.now, request=request))

        def at_partner() -> None:
            if not p.alive:
                self.time_out(u.name, gen, asked + DEMOTE_WAIT, request, handover=False)
                return
            rid = w.new_id()
            w.step(p, m.DemoteAsked(now=w.now, request=rid, by=u.name, cause=cause))
            if not self.carry(p.name, u.name, "demote-reply", demoted):
                self.time_out(u.name, gen, asked + DEMOTE_WAIT, request, handover=False)

        if not self.carry(u.name, p.name, "demote", at_partner):
            self.time_out(u.name, gen, asked + DEMOTE_WAIT, request, handover=False)

    def ask_handover(self, u: Unit, request: int, cause: str) -> None:
        """``AskHandover``: the standby partner takes over; ``HandoverDone`` once it has."""
        w = self.w
        p = w.units[other(u.name)]
        if not self.reachable(u, p) or u.key != p.key:
            w.deliver(u.name, m.HandoverDone(now=w.now, request=request, error="x"))
            return
        asked, gen = w.now, u.incarnation

        def at_partner() -> None:
            if not p.alive:
                self.time_out(u.name, gen, asked + HANDOVER_WAIT, request, handover=True)
                return
            rid = w.new_id()
            self.handovers.append((u.name, request, rid, asked, gen))
            w.deliver(p.name, m.TakeoverAsked(now=w.now, request=rid, cause=cause))

        if not self.carry(u.name, p.name, "handover", at_partner):
            self.time_out(u.name, gen, asked + HANDOVER_WAIT, request, handover=True)

    def resolve_handovers(self) -> bool:
        """The partner's answer to a hand-over, once it has one (or is gone)."""
        w = self.w
        moved = False
        for item in list(self.handovers):
            name, request, rid, asked, gen = item
            p = w.units[other(name)]
            reply = p.replies.get(rid)
            if reply is None and p.alive:
                continue
            self.handovers.remove(item)
            moved = True
            if reply is None:  # the partner's process is gone: its connection closes
                self.answer(name, gen, m.HandoverDone(now=w.now, request=request,
                                                      error="partner-unavailable"))  # fmt: skip
                continue
            done = m.HandoverDone(now=0.0, request=request, error=reply.error)

            def arrive(name: str = name, gen: int = gen, done: m.HandoverDone = done) -> None:
                self.answer(name, gen, m.HandoverDone(now=w.now, request=done.request,
                                                      error=done.error))  # fmt: skip

            if not self.carry(p.name, name, "handover-reply", arrive):
                self.time_out(name, gen, asked + HANDOVER_WAIT, request, handover=True)
        return moved
