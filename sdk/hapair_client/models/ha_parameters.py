from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.ha_parameters_ha_timeout import HAParametersHaTimeout, check_ha_parameters_ha_timeout
from ..models.ha_parameters_preferred_server import HAParametersPreferredServer, check_ha_parameters_preferred_server
from ..types import UNSET, Unset

T = TypeVar("T", bound="HAParameters")


@_attrs_define
class HAParameters:
    """The stored HA parameters (without revision metadata).

    Attributes:
        ha_timeout (HAParametersHaTimeout | Unset): Seconds without a heartbeat before the standby takes over. Default:
            9.
        initial_wait_time (int | Unset): Seconds a booting unit waits for its partner. Default: 0.
        virtual_id (int | None | Unset):
        use_broadcast (bool | Unset): Send CARP to broadcast instead of multicast. Default: False.
        preferred_server (HAParametersPreferredServer | Unset): Unit that takes over whenever it is up, or none.
            Default: 'none'.
        update_interface (str | Unset): Linux interface name: 1 to 15 of A-Z a-z 0-9 _ . - (not '.' or '..'). Default:
            'eth0'.
        hard_reboot_on_link_failure (bool | Unset): Reboot when a monitored link fails; only while preferred_server is
            none. Default: False.
        l4_connection_updates (bool | Unset): Replicate L4 (IPVS) connection state. Default: False.
        l4_sync_threshold (int | Unset): IPVS sync threshold in packets; less than l4_sync_period. Default: 3.
        l4_sync_period (int | Unset): IPVS sync period in packets; greater than the threshold. Default: 50.
        l4_sync_refresh_period (int | Unset): Seconds between IPVS connection refreshes (0 = off). Default: 0.
        l7_persistence_updates (bool | Unset): Replicate L7 persistence tables. Default: False.
        multicast_interface (str | Unset): Linux interface name: 1 to 15 of A-Z a-z 0-9 _ . - (not '.' or '..').
            Default: 'eth0'.
        use_virtual_mac (bool | Unset): Use the CARP virtual MAC address. Default: False.
        failback_delay (int | Unset): Seconds a returning preferred server must be healthy (no failed track) and in sync
            before it takes the role back (keepalived preempt_delay). Default: 0.
    """

    ha_timeout: HAParametersHaTimeout | Unset = 9
    initial_wait_time: int | Unset = 0
    virtual_id: int | None | Unset = UNSET
    use_broadcast: bool | Unset = False
    preferred_server: HAParametersPreferredServer | Unset = "none"
    update_interface: str | Unset = "eth0"
    hard_reboot_on_link_failure: bool | Unset = False
    l4_connection_updates: bool | Unset = False
    l4_sync_threshold: int | Unset = 3
    l4_sync_period: int | Unset = 50
    l4_sync_refresh_period: int | Unset = 0
    l7_persistence_updates: bool | Unset = False
    multicast_interface: str | Unset = "eth0"
    use_virtual_mac: bool | Unset = False
    failback_delay: int | Unset = 0

    def to_dict(self) -> dict[str, Any]:
        ha_timeout: int | Unset = UNSET
        if not isinstance(self.ha_timeout, Unset):
            ha_timeout = self.ha_timeout

        initial_wait_time = self.initial_wait_time

        virtual_id: int | None | Unset
        if isinstance(self.virtual_id, Unset):
            virtual_id = UNSET
        else:
            virtual_id = self.virtual_id

        use_broadcast = self.use_broadcast

        preferred_server: str | Unset = UNSET
        if not isinstance(self.preferred_server, Unset):
            preferred_server = self.preferred_server

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

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if ha_timeout is not UNSET:
            field_dict["ha_timeout"] = ha_timeout
        if initial_wait_time is not UNSET:
            field_dict["initial_wait_time"] = initial_wait_time
        if virtual_id is not UNSET:
            field_dict["virtual_id"] = virtual_id
        if use_broadcast is not UNSET:
            field_dict["use_broadcast"] = use_broadcast
        if preferred_server is not UNSET:
            field_dict["preferred_server"] = preferred_server
        if update_interface is not UNSET:
            field_dict["update_interface"] = update_interface
        if hard_reboot_on_link_failure is not UNSET:
            field_dict["hard_reboot_on_link_failure"] = hard_reboot_on_link_failure
        if l4_connection_updates is not UNSET:
            field_dict["l4_connection_updates"] = l4_connection_updates
        if l4_sync_threshold is not UNSET:
            field_dict["l4_sync_threshold"] = l4_sync_threshold
        if l4_sync_period is not UNSET:
            field_dict["l4_sync_period"] = l4_sync_period
        if l4_sync_refresh_period is not UNSET:
            field_dict["l4_sync_refresh_period"] = l4_sync_refresh_period
        if l7_persistence_updates is not UNSET:
            field_dict["l7_persistence_updates"] = l7_persistence_updates
        if multicast_interface is not UNSET:
            field_dict["multicast_interface"] = multicast_interface
        if use_virtual_mac is not UNSET:
            field_dict["use_virtual_mac"] = use_virtual_mac
        if failback_delay is not UNSET:
            field_dict["failback_delay"] = failback_delay

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _ha_timeout = d.pop("ha_timeout", UNSET)
        ha_timeout: HAParametersHaTimeout | Unset
        if isinstance(_ha_timeout, Unset):
            ha_timeout = UNSET
        else:
            ha_timeout = check_ha_parameters_ha_timeout(_ha_timeout)

        initial_wait_time = d.pop("initial_wait_time", UNSET)

        def _parse_virtual_id(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        virtual_id = _parse_virtual_id(d.pop("virtual_id", UNSET))

        use_broadcast = d.pop("use_broadcast", UNSET)

        _preferred_server = d.pop("preferred_server", UNSET)
        preferred_server: HAParametersPreferredServer | Unset
        if isinstance(_preferred_server, Unset):
            preferred_server = UNSET
        else:
            preferred_server = check_ha_parameters_preferred_server(_preferred_server)

        update_interface = d.pop("update_interface", UNSET)

        hard_reboot_on_link_failure = d.pop("hard_reboot_on_link_failure", UNSET)

        l4_connection_updates = d.pop("l4_connection_updates", UNSET)

        l4_sync_threshold = d.pop("l4_sync_threshold", UNSET)

        l4_sync_period = d.pop("l4_sync_period", UNSET)

        l4_sync_refresh_period = d.pop("l4_sync_refresh_period", UNSET)

        l7_persistence_updates = d.pop("l7_persistence_updates", UNSET)

        multicast_interface = d.pop("multicast_interface", UNSET)

        use_virtual_mac = d.pop("use_virtual_mac", UNSET)

        failback_delay = d.pop("failback_delay", UNSET)

        ha_parameters = cls(
            ha_timeout=ha_timeout,
            initial_wait_time=initial_wait_time,
            virtual_id=virtual_id,
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
        )

        return ha_parameters
