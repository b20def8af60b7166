from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.ha_parameters_patch_ha_timeout_type_0 import (
    HAParametersPatchHaTimeoutType0,
    check_ha_parameters_patch_ha_timeout_type_0,
)
from ..models.ha_parameters_patch_preferred_server_type_0 import (
    HAParametersPatchPreferredServerType0,
    check_ha_parameters_patch_preferred_server_type_0,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="HAParametersPatch")


@_attrs_define
class HAParametersPatch:
    """A JSON merge patch (RFC 7396) of the HA parameters; ``null`` resets a field.

    Attributes:
        ha_timeout (HAParametersPatchHaTimeoutType0 | None | Unset):
        initial_wait_time (int | None | Unset):
        virtual_id (int | None | Unset):
        use_broadcast (bool | None | Unset):
        preferred_server (HAParametersPatchPreferredServerType0 | None | Unset):
        update_interface (None | str | Unset):
        hard_reboot_on_link_failure (bool | None | Unset):
        l4_connection_updates (bool | None | Unset):
        l4_sync_threshold (int | None | Unset):
        l4_sync_period (int | None | Unset):
        l4_sync_refresh_period (int | None | Unset):
        l7_persistence_updates (bool | None | Unset):
        multicast_interface (None | str | Unset):
        use_virtual_mac (bool | None | Unset):
        failback_delay (int | None | Unset):
        revision (int | None | Unset):
        updated_at (Any | Unset): Read-only: ignored in a write (a GET body may be sent back).
        virtual_id_source (Any | Unset): Read-only: ignored in a write (a GET body may be sent back).
    """

    ha_timeout: HAParametersPatchHaTimeoutType0 | None | Unset = UNSET
    initial_wait_time: int | None | Unset = UNSET
    virtual_id: int | None | Unset = UNSET
    use_broadcast: bool | None | Unset = UNSET
    preferred_server: HAParametersPatchPreferredServerType0 | None | Unset = UNSET
    update_interface: None | str | Unset = UNSET
    hard_reboot_on_link_failure: bool | None | Unset = UNSET
    l4_connection_updates: bool | None | Unset = UNSET
    l4_sync_threshold: int | None | Unset = UNSET
    l4_sync_period: int | None | Unset = UNSET
    l4_sync_refresh_period: int | None | Unset = UNSET
    l7_persistence_updates: bool | None | Unset = UNSET
    multicast_interface: None | str | Unset = UNSET
    use_virtual_mac: bool | None | Unset = UNSET
    failback_delay: int | None | Unset = UNSET
    revision: int | None | Unset = UNSET
    updated_at: Any | Unset = UNSET
    virtual_id_source: Any | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        ha_timeout: int | None | Unset
        if isinstance(self.ha_timeout, Unset):
            ha_timeout = UNSET
        elif isinstance(self.ha_timeout, int):
            ha_timeout = self.ha_timeout
        else:
            ha_timeout = self.ha_timeout

        initial_wait_time: int | None | Unset
        if isinstance(self.initial_wait_time, Unset):
            initial_wait_time = UNSET
        else:
            initial_wait_time = self.initial_wait_time

        virtual_id: int | None | Unset
        if isinstance(self.virtual_id, Unset):
            virtual_id = UNSET
        else:
            virtual_id = self.virtual_id

        use_broadcast: bool | None | Unset
        if isinstance(self.use_broadcast, Unset):
            use_broadcast = UNSET
        else:
            use_broadcast = self.use_broadcast

        preferred_server: None | str | Unset
        if isinstance(self.preferred_server, Unset):
            preferred_server = UNSET
        elif isinstance(self.preferred_server, str):
            preferred_server = self.preferred_server
        else:
            preferred_server = self.preferred_server

        update_interface: None | str | Unset
        if isinstance(self.update_interface, Unset):
            update_interface = UNSET
        else:
            update_interface = self.update_interface

        hard_reboot_on_link_failure: bool | None | Unset
        if isinstance(self.hard_reboot_on_link_failure, Unset):
            hard_reboot_on_link_failure = UNSET
        else:
            hard_reboot_on_link_failure = self.hard_reboot_on_link_failure

        l4_connection_updates: bool | None | Unset
        if isinstance(self.l4_connection_updates, Unset):
            l4_connection_updates = UNSET
        else:
            l4_connection_updates = self.l4_connection_updates

        l4_sync_threshold: int | None | Unset
        if isinstance(self.l4_sync_threshold, Unset):
            l4_sync_threshold = UNSET
        else:
            l4_sync_threshold = self.l4_sync_threshold

        l4_sync_period: int | None | Unset
        if isinstance(self.l4_sync_period, Unset):
            l4_sync_period = UNSET
        else:
            l4_sync_period = self.l4_sync_period

        l4_sync_refresh_period: int | None | Unset
        if isinstance(self.l4_sync_refresh_period, Unset):
            l4_sync_refresh_period = UNSET
        else:
            l4_sync_refresh_period = self.l4_sync_refresh_period

        l7_persistence_updates: bool | None | Unset
        if isinstance(self.l7_persistence_updates, Unset):
            l7_persistence_updates = UNSET
        else:
            l7_persistence_updates = self.l7_persistence_updates

        multicast_interface: None | str | Unset
        if isinstance(self.multicast_interface, Unset):
            multicast_interface = UNSET
        else:
            multicast_interface = self.multicast_interface

        use_virtual_mac: bool | None | Unset
        if isinstance(self.use_virtual_mac, Unset):
            use_virtual_mac = UNSET
        else:
            use_virtual_mac = self.use_virtual_mac

        failback_delay: int | None | Unset
        if isinstance(self.failback_delay, Unset):
            failback_delay = UNSET
        else:
            failback_delay = self.failback_delay

        revision: int | None | Unset
        if isinstance(self.revision, Unset):
            revision = UNSET
        else:
            revision = self.revision

        updated_at = self.updated_at

        virtual_id_source = self.virtual_id_source

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
        if revision is not UNSET:
            field_dict["revision"] = revision
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at
        if virtual_id_source is not UNSET:
            field_dict["virtual_id_source"] = virtual_id_source

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_ha_timeout(data: object) -> HAParametersPatchHaTimeoutType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, int):
                    raise TypeError()
                ha_timeout_type_0 = check_ha_parameters_patch_ha_timeout_type_0(data)

                return ha_timeout_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(HAParametersPatchHaTimeoutType0 | None | Unset, data)

        ha_timeout = _parse_ha_timeout(d.pop("ha_timeout", UNSET))

        def _parse_initial_wait_time(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        initial_wait_time = _parse_initial_wait_time(d.pop("initial_wait_time", UNSET))

        def _parse_virtual_id(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        virtual_id = _parse_virtual_id(d.pop("virtual_id", UNSET))

        def _parse_use_broadcast(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        use_broadcast = _parse_use_broadcast(d.pop("use_broadcast", UNSET))

        def _parse_preferred_server(data: object) -> HAParametersPatchPreferredServerType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                preferred_server_type_0 = check_ha_parameters_patch_preferred_server_type_0(data)

                return preferred_server_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(HAParametersPatchPreferredServerType0 | None | Unset, data)

        preferred_server = _parse_preferred_server(d.pop("preferred_server", UNSET))

        def _parse_update_interface(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        update_interface = _parse_update_interface(d.pop("update_interface", UNSET))

        def _parse_hard_reboot_on_link_failure(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        hard_reboot_on_link_failure = _parse_hard_reboot_on_link_failure(d.pop("hard_reboot_on_link_failure", UNSET))

        def _parse_l4_connection_updates(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        l4_connection_updates = _parse_l4_connection_updates(d.pop("l4_connection_updates", UNSET))

        def _parse_l4_sync_threshold(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        l4_sync_threshold = _parse_l4_sync_threshold(d.pop("l4_sync_threshold", UNSET))

        def _parse_l4_sync_period(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        l4_sync_period = _parse_l4_sync_period(d.pop("l4_sync_period", UNSET))

        def _parse_l4_sync_refresh_period(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        l4_sync_refresh_period = _parse_l4_sync_refresh_period(d.pop("l4_sync_refresh_period", UNSET))

        def _parse_l7_persistence_updates(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        l7_persistence_updates = _parse_l7_persistence_updates(d.pop("l7_persistence_updates", UNSET))

        def _parse_multicast_interface(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        multicast_interface = _parse_multicast_interface(d.pop("multicast_interface", UNSET))

        def _parse_use_virtual_mac(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        use_virtual_mac = _parse_use_virtual_mac(d.pop("use_virtual_mac", UNSET))

        def _parse_failback_delay(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        failback_delay = _parse_failback_delay(d.pop("failback_delay", UNSET))

        def _parse_revision(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        revision = _parse_revision(d.pop("revision", UNSET))

        updated_at = d.pop("updated_at", UNSET)

        virtual_id_source = d.pop("virtual_id_source", UNSET)

        ha_parameters_patch = cls(
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
            revision=revision,
            updated_at=updated_at,
            virtual_id_source=virtual_id_source,
        )

        return ha_parameters_patch
