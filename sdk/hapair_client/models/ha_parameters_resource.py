from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.ha_parameters_resource_ha_timeout import (
    HAParametersResourceHaTimeout,
    check_ha_parameters_resource_ha_timeout,
)
from ..models.ha_parameters_resource_preferred_server import (
    HAParametersResourcePreferredServer,
    check_ha_parameters_resource_preferred_server,
)
from ..models.ha_parameters_resource_virtual_id_source import (
    HAParametersResourceVirtualIdSource,
    check_ha_parameters_resource_virtual_id_source,
)

T = TypeVar("T", bound="HAParametersResource")


@_attrs_define
class HAParametersResource:
    """
    Attributes:
        ha_timeout (HAParametersResourceHaTimeout): Seconds without a heartbeat before the standby takes over.
        initial_wait_time (int): Seconds a booting unit waits for its partner.
        virtual_id (int): CARP virtual ID; null in a write means auto.
        virtual_id_source (HAParametersResourceVirtualIdSource):
        use_broadcast (bool): Send CARP to broadcast instead of multicast.
        preferred_server (HAParametersResourcePreferredServer): Unit that takes over whenever it is up, or none.
        update_interface (str): Linux interface name: 1 to 15 of A-Z a-z 0-9 _ . - (not '.' or '..').
        hard_reboot_on_link_failure (bool): Reboot when a monitored link fails; only while preferred_server is none.
        l4_connection_updates (bool): Replicate L4 (IPVS) connection state.
        l4_sync_threshold (int): IPVS sync threshold in packets; less than l4_sync_period.
        l4_sync_period (int): IPVS sync period in packets; greater than the threshold.
        l4_sync_refresh_period (int): Seconds between IPVS connection refreshes (0 = off).
        l7_persistence_updates (bool): Replicate L7 persistence tables.
        multicast_interface (str): Linux interface name: 1 to 15 of A-Z a-z 0-9 _ . - (not '.' or '..').
        use_virtual_mac (bool): Use the CARP virtual MAC address.
        failback_delay (int): Seconds a returning preferred server must be healthy (no failed track) and in sync before
            it takes the role back (keepalived preempt_delay).
        revision (int): Revision of the HA parameters.
        updated_at (None | str):
    """

    ha_timeout: HAParametersResourceHaTimeout
    initial_wait_time: int
    virtual_id: int
    virtual_id_source: HAParametersResourceVirtualIdSource
    use_broadcast: bool
    preferred_server: HAParametersResourcePreferredServer
    update_interface: str
    hard_reboot_on_link_failure: bool
    l4_connection_updates: bool
    l4_sync_threshold: int
    l4_sync_period: int
    l4_sync_refresh_period: int
    l7_persistence_updates: bool
    multicast_interface: str
    use_virtual_mac: bool
    failback_delay: int
    revision: int
    updated_at: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        ha_timeout: int = self.ha_timeout

        initial_wait_time = self.initial_wait_time

        virtual_id = self.virtual_id

        virtual_id_source: str = self.virtual_id_source

        use_broadcast = self.use_broadcast

        preferred_server: str = self.preferred_server

        update_interface = self.update_interface

        hard_reboot_on_link_failure = self.hard_reboot_on_link_failure

        l4_connection_updates = self.l4_connection_updates

        l4_sync_threshold = self.l4_sync_threshold

        l4_sync_period = self.l4_sync_period

        l4_sync_refresh_period = self.l4_sync_refresh_period

        l7_persistence_updates = self.l7_persistence_updates

        multicast_interface = self.multicast_interface

        use_virtual_mac = self.use_virtual_mac

        failback_delay = self.failback_delay

        revision = self.revision

        updated_at: None | str
        updated_at = self.updated_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "ha_timeout": ha_timeout,
                "initial_wait_time": initial_wait_time,
                "virtual_id": virtual_id,
                "virtual_id_source": virtual_id_source,
                "use_broadcast": use_broadcast,
                "preferred_server": preferred_server,
                "update_interface": update_interface,
                "hard_reboot_on_link_failure": hard_reboot_on_link_failure,
                "l4_connection_updates": l4_connection_updates,
                "l4_sync_threshold": l4_sync_threshold,
                "l4_sync_period": l4_sync_period,
                "l4_sync_refresh_period": l4_sync_refresh_period,
                "l7_persistence_updates": l7_persistence_updates,
                "multicast_interface": multicast_interface,
                "use_virtual_mac": use_virtual_mac,
                "failback_delay": failback_delay,
                "revision": revision,
                "updated_at": updated_at,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        ha_timeout = check_ha_parameters_resource_ha_timeout(d.pop("ha_timeout"))

        initial_wait_time = d.pop("initial_wait_time")

        virtual_id = d.pop("virtual_id")

        virtual_id_source = check_ha_parameters_resource_virtual_id_source(d.pop("virtual_id_source"))

        use_broadcast = d.pop("use_broadcast")

        preferred_server = check_ha_parameters_resource_preferred_server(d.pop("preferred_server"))

        update_interface = d.pop("update_interface")

        hard_reboot_on_link_failure = d.pop("hard_reboot_on_link_failure")

        l4_connection_updates = d.pop("l4_connection_updates")

        l4_sync_threshold = d.pop("l4_sync_threshold")

        l4_sync_period = d.pop("l4_sync_period")

        l4_sync_refresh_period = d.pop("l4_sync_refresh_period")

        l7_persistence_updates = d.pop("l7_persistence_updates")

        multicast_interface = d.pop("multicast_interface")

        use_virtual_mac = d.pop("use_virtual_mac")

        failback_delay = d.pop("failback_delay")

        revision = d.pop("revision")

        def _parse_updated_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        updated_at = _parse_updated_at(d.pop("updated_at"))

        ha_parameters_resource = cls(
            ha_timeout=ha_timeout,
            initial_wait_time=initial_wait_time,
            virtual_id=virtual_id,
            virtual_id_source=virtual_id_source,
            use_broadcast=use_broadcast,
            preferred_server=preferred_server,
            update_interface=update_interface,
            hard_reboot_on_link_failure=hard_reboot_on_link_failure,
            l4_connection_updates=l4_connection_updates,
            l4_sync_threshold=l4_sync_threshold,
            l4_sync_period=l4_sync_period,
            l4_sync_refresh_period=l4_sync_refresh_period,
            l7_persistence_updates=l7_persistence_updates,
            multicast_interface=multicast_interface,
            use_virtual_mac=use_virtual_mac,
            failback_delay=failback_delay,
            revision=revision,
            updated_at=updated_at,
        )

        ha_parameters_resource.additional_properties = d
        return ha_parameters_resource

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
