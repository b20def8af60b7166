"""The update link's rules (SPEC 5b' ``update_interface``), part of the pure core.

With a separate update link, heartbeats go over both links: a heartbeat over either keeps the
partner alive (the machine's ``heard_at``), so losing one link fails nothing over. Each link's
last heartbeat is kept apart for ``links`` and for the ``update-link-down`` alert; the in-sync
rule (``state.sync``) needs the update link, which carries replication.
"""

from __future__ import annotations

from hapair.engine.core.frozen import replace
from hapair.engine.core.state import State, advert_heard, fresh_partner, update_link_down
from hapair.engine.pairlink.messages import Heartbeat

UPDATE_LINK_DOWN = (
    "no heartbeat from the partner over the update link for ha_timeout while it is heard "
    "over the direct link: no failover; replication and the hand-over calls wait for it"
)


def heard_via(s: State, hb: Heartbeat, now: float) -> State:
    """The link a heartbeat came over, recorded before anything else (a heartbeat that came
    over one link a moment after the other's may be stale news, but the link carried it).
    Only kept while a separate update link is in use (without one, the heartbeat is all)."""
    if not s.update_separate:
        return s
    if hb.via == "update":
        return replace(s, update_at=now)
    return replace(s, direct_at=now)


def update_seen(s: State, separate: bool, replication: bool, now: float) -> State:
    """Whether a separate update link is in use now, and carries replication
    (``UpdateLinkSeen``)."""
    replication = separate and replication
    if replication != s.update_replication:
        s = replace(s, update_replication=replication)
    if separate == s.update_separate:
        return s
    return replace(
        s,
        update_separate=separate,
        update_separate_since=now if separate else None,
        update_at=None if not separate else s.update_at,
        direct_at=s.heard_at,  # what was heard so far came over the direct link
    )


def update_alert(s: State, now: float) -> bool:
    """``update-link-down``: the update link carries nothing for ``ha_timeout`` while the
    partner is heard another way (a partner heard on no link is ``unreachable``, not this)."""
    if not update_link_down(s, now):
        return False
    if fresh_partner(s, now) is None and not advert_heard(s, now):
        return False
    if s.update_at is None:  # never heard over it since it was set up
        since = s.update_separate_since
        return since is not None and now - since >= s.params.ha_timeout
    return True
