"""``GET /ha/status``: both units as one unit sees them, built from its engine's state.

This unit's entry comes from its own state (its role as ``machine.shown`` gives it); the
partner's from its last heartbeat when heard within ``ha_timeout`` (its role, reason,
``serving_shared``, last transition as it reported them), else ``not_operational`` /
``unreachable``. The revisions are read from each Redis by the caller: what is shown is a pure
function of what the unit knows (:class:`StatusFacts`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hapair.clock import iso
from hapair.domain.status import (
    Alert,
    LastTransition,
    Links,
    PairStatus,
    Role,
    UnitStatus,
    pair_state,
    unit_status,
)
from hapair.domain.tracks import TrackSummary
from hapair.domain.unit import other_unit
from hapair.domain.version import PROTOCOL, VERSION
from hapair.engine.core import machine as m
from hapair.engine.pairlink.messages import (
    AlertInfo,
    Heartbeat,
    LinksInfo,
    TrackInfo,
    TransitionInfo,
)


def transition_view(t: m.Transition | TransitionInfo | None) -> LastTransition | None:
    """A last transition as the API shows it."""
    if t is None:
        return None
    return LastTransition(from_role=t.from_role, to_role=t.to_role, cause=t.cause, at=iso(t.at))


def tracks_view(tracks: list[TrackInfo] | tuple[m.TrackState, ...]) -> list[TrackSummary]:
    """A unit's tracks as ``GET /ha/status`` shows them."""
    return [TrackSummary(name=t.name, ok=t.ok, detail=t.detail) for t in tracks]


def links_view(links: LinksInfo | None) -> Links | None:
    """A unit's links as the API shows them."""
    if links is None:
        return None
    return Links(heartbeat=links.heartbeat, update=links.update, advert=links.advert)


def alerts_view(alerts: Iterable[AlertInfo]) -> list[Alert]:
    """A unit's alerts as the API shows them."""
    return [Alert(reason=a.reason, detail=a.detail, since=iso(a.since)) for a in alerts]


@dataclass(frozen=True)
class StatusFacts:
    """What one unit knows when it answers ``GET /ha/status``: its node's state and the
    revisions read from each Redis just now."""

    name: str
    state: m.State | None
    now: float
    address: str
    partner_address: str | None
    revision: int | None  # read from this unit's Redis (None: it did not answer)
    partner: Heartbeat | None  # the partner's heartbeat if heard within ha_timeout
    partner_revision: int | None  # read from the partner's Redis, else its heartbeat's
    serving_now: bool  # the shared listener answers (its result event may be a step behind)
    last_sent_at: str | None
    last_heard_at: str | None
    pair_keys: tuple[str | None, str | None] | None  # (current, next) key ids, None: no ring


def pair_view(f: StatusFacts) -> tuple[PairStatus, bool]:
    """Both units as ``f.name`` sees them, and whether the pair is in sync (the one rule,
    ``machine.sync``, on the revisions the status shows)."""
    s, p, name = f.state, f.partner, f.name
    partner_name = other_unit(name)
    synced = (
        s is not None
        and m.sync(s, f.now, revision=f.revision, partner_revision=f.partner_revision).in_sync
    )
    my_reason: str | None
    if s is None:
        my_role, my_reason, serving = Role.NOT_OPERATIONAL, "starting", False
    else:
        my_role, my_reason, serving = m.shown(s, serving_now=f.serving_now)
    me = unit_status(
        name,
        my_role,
        reason=my_reason,  # type: ignore[arg-type]
        address=f.address,
        revision=f.revision,
        last_heartbeat_at=f.last_sent_at,
        in_sync=synced,
        serving_shared=serving,
        role_since=iso(s.role_since) if s is not None else None,
        last_transition=transition_view(s.last_transition if s is not None else None),
        tracks=tracks_view(s.tracks) if s is not None else [],
        version=VERSION,
        protocol=PROTOCOL,
        detail=s.auth_failed
        if s is not None and my_reason in ("partner-auth-failed", "shared-address-mismatch")
        else None,
        alerts=alerts_view(s.alerts) if s is not None else [],
        links=links_view(m.links(s, f.now)) if s is not None else None,
    )
    last = s.partner if s is not None else None
    if p is None:
        other = unit_status(
            partner_name,
            Role.NOT_OPERATIONAL,
            reason="unreachable",
            address=f.partner_address,
            revision=last.revision if last else None,
            last_heartbeat_at=f.last_heard_at,
            in_sync=False,
            serving_shared=last.serving_shared if last else False,
            role_since=iso(last.role_since) if last and last.role_since else None,
            last_transition=transition_view(last.last_transition if last else None),
            tracks=tracks_view(last.tracks) if last else [],
            version=(last.version or None) if last else None,
            protocol=last.protocol if last else None,
        )
    else:
        role = p.status_role or Role.NOT_OPERATIONAL
        reason = (p.status_reason or "starting") if role == Role.NOT_OPERATIONAL else None
        other = unit_status(
            p.unit or partner_name,
            role,
            reason=reason,  # type: ignore[arg-type]
            address=p.address or f.partner_address,
            revision=f.partner_revision,
            last_heartbeat_at=f.last_heard_at,
            in_sync=synced,
            serving_shared=p.serving_shared,
            role_since=iso(p.role_since) if p.role_since else None,
            last_transition=transition_view(p.last_transition),
            tracks=tracks_view(p.tracks),
            version=p.version or None,
            protocol=p.protocol,
            detail=p.status_detail if reason is not None else None,
            alerts=alerts_view(p.alerts),
            links=links_view(p.links),
        )
    if f.pair_keys is not None:
        me.pair_key_id, me.pair_key_next_id = f.pair_keys
    told = p if p is not None else last
    if told is not None:
        other.pair_key_id, other.pair_key_next_id = told.pair_key_id, told.pair_key_next_id
    units: list[UnitStatus] = sorted([me, other], key=lambda u: u.name)
    return PairStatus(pair=pair_state(units), units=units), synced
