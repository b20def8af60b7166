"""The real ports of a node (``engine/ports.py``): the system clock, Redis, the partner over
HTTP, the shared address and its virtual IP, the event stream, the role hook, sysfs links, the
track checks and the data plane. :func:`build_node` wires them for one unit."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from hapair.domain.parameters import effective_virtual_id
from hapair.domain.unit import UnitSettings, unit_name
from hapair.engine.adapters.adverts import UdpAdverts
from hapair.engine.adapters.clock import SystemClock
from hapair.engine.adapters.hooks import ShellHook
from hapair.engine.adapters.links import SysfsLinks
from hapair.engine.adapters.metrics import MetricsPort
from hapair.engine.adapters.partner_store import PartnerStore
from hapair.engine.adapters.store import RedisStore
from hapair.engine.adapters.uplink import NetlinkUpdateLink
from hapair.engine.dataplane.plane import DataPlane
from hapair.engine.netif.shared import SharedAddress
from hapair.engine.node import Node
from hapair.engine.node_control import NodeControl
from hapair.engine.pairlink.messages import AppliedState
from hapair.engine.pairlink.partner import PartnerClient, partner_client_for
from hapair.engine.ports import EventSink, PartnerLink, Ports
from hapair.engine.tasks import Background
from hapair.engine.tracks import Tracks
from hapair.metrics import Metrics
from hapair.settings import Settings
from hapair.store.redis import Store
from hapair.store.unitfile import UnitFiles

__all__ = ["build_node"]


def build_node(
    settings: Settings,
    *,
    files: UnitFiles,
    store: Store,
    redis_url: str,
    metrics: Metrics,
    events: EventSink | None,
) -> NodeControl:
    """One unit's node on the real ports, and the API's control of it."""
    background = Background()
    node: Node | None = None

    def partner(unit: UnitSettings, pair: Callable[[], str]) -> PartnerLink | None:
        return partner_client_for(settings, unit_name(unit.mode), unit.partner_address, pair=pair)

    def client() -> PartnerClient | None:  # this boot's (None once the node stopped)
        return cast(PartnerClient | None, node.calls_link() if node is not None else None)

    partner_store = PartnerStore(store, redis_url, "", events, client=client)
    shared = SharedAddress(settings, background.spawn)

    def applied_changed(name: str, state: AppliedState, initial: bool) -> None:
        if node is not None:
            node.applied_changed(name, state, initial)

    def state_sync_seen(ok: bool, detail: str) -> None:
        if node is not None:
            node.state_sync_seen(ok, detail)

    def virtual_id() -> int:
        if node is None:
            return 0
        return effective_virtual_id(node.snapshot.params, node.unit.shared_address)[0]

    def pair() -> str:
        return node.pair_id() if node is not None else ""

    def shared_address() -> str | None:
        return node.unit.shared_address if node is not None else None

    # the pair's adverts (SPEC 5b'): a pair on two hosts only (a unit that moves the shared
    # address as a virtual IP), signed with the pair key
    adverts = None
    if settings.shared_interface is not None and settings.pair_keys is not None:
        adverts = UdpAdverts(
            port=settings.advert_port,
            interval=settings.heartbeat_interval,
            keys=settings.pair_keys,
            virtual_id=virtual_id,
            pair=pair,
            shared=shared_address,
        )

    # the update link (SPEC 5b'): its client is the partner's, at its address on that link,
    # leaving from this unit's address there
    def update_client(address: str, source: str) -> PartnerLink | None:
        if node is None:
            return None
        return partner_client_for(
            settings,
            node.name,
            address,
            pair=node.pair_id,
            source=source,
            home=node.unit.partner_address,
        )

    update_link = NetlinkUpdateLink(settings, client=update_client, app=lambda: shared.app)

    ports = Ports(
        clock=SystemClock(),
        files=files,
        store=RedisStore(store),
        partner_store=partner_store,
        shared=shared,
        events=events,
        hooks=ShellHook(settings.on_role_change, background.spawn),
        links=SysfsLinks(),
        metrics=MetricsPort(metrics),
        dataplane=DataPlane(settings, on_change=applied_changed, on_state_sync=state_sync_seen),
        partner=partner,
        checks=lambda on_result: Tracks(settings.tracks, on_result=on_result),
        adverts=adverts,
        update_link=update_link,
    )
    node = Node(settings=settings, ports=ports, background=background)
    node.redis_url = redis_url
    return NodeControl(node, partner_store=partner_store, shared=shared)
