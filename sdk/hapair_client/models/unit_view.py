from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.unit_view_mode import UnitViewMode, check_unit_view_mode

if TYPE_CHECKING:
    from ..models.maintenance_view import MaintenanceView
    from ..models.track_view import TrackView
    from ..models.unit_patch import UnitPatch


T = TypeVar("T", bound="UnitView")


@_attrs_define
class UnitView:
    """
    Attributes:
        name (str):
        mode (UnitViewMode):
        version (str):
        protocol (int):
        redis_version (None | str):
        pending (None | UnitPatch):
        reboot_required (bool):
        address (str):
        partner_address (None | str):
        shared_address (None | str):
        boot_id (str):
        booted_at (str):
        boots_in_window (int):
        pacified (bool):
        maintenance (MaintenanceView):
        tracks (list[TrackView]):
    """

    name: str
    mode: UnitViewMode
    version: str
    protocol: int
    redis_version: None | str
    pending: None | UnitPatch
    reboot_required: bool
    address: str
    partner_address: None | str
    shared_address: None | str
    boot_id: str
    booted_at: str
    boots_in_window: int
    pacified: bool
    maintenance: MaintenanceView
    tracks: list[TrackView]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.unit_patch import UnitPatch  # noqa: PLC0415

        name = self.name

        mode: str = self.mode

        version = self.version

        protocol = self.protocol

        redis_version: None | str
        redis_version = self.redis_version

        pending: dict[str, Any] | None
        if isinstance(self.pending, UnitPatch):
            pending = self.pending.to_dict()
        else:
            pending = self.pending

        reboot_required = self.reboot_required

        address = self.address

        partner_address: None | str
        partner_address = self.partner_address

        shared_address: None | str
        shared_address = self.shared_address

        boot_id = self.boot_id

        booted_at = self.booted_at

        boots_in_window = self.boots_in_window

        pacified = self.pacified

        maintenance = self.maintenance.to_dict()

        tracks = []
        for tracks_item_data in self.tracks:
            tracks_item = tracks_item_data.to_dict()
            tracks.append(tracks_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "mode": mode,
                "version": version,
                "protocol": protocol,
                "redis_version": redis_version,
                "pending": pending,
                "reboot_required": reboot_required,
                "address": address,
                "partner_address": partner_address,
                "shared_address": shared_address,
                "boot_id": boot_id,
                "booted_at": booted_at,
                "boots_in_window": boots_in_window,
                "pacified": pacified,
                "maintenance": maintenance,
                "tracks": tracks,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.maintenance_view import MaintenanceView  # noqa: PLC0415
        from ..models.track_view import TrackView  # noqa: PLC0415
        from ..models.unit_patch import UnitPatch  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name")

        mode = check_unit_view_mode(d.pop("mode"))

        version = d.pop("version")

        protocol = d.pop("protocol")

        def _parse_redis_version(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        redis_version = _parse_redis_version(d.pop("redis_version"))

        def _parse_pending(data: object) -> None | UnitPatch:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                pending_type_0 = UnitPatch.from_dict(data)

                return pending_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UnitPatch, data)

        pending = _parse_pending(d.pop("pending"))

        reboot_required = d.pop("reboot_required")

        address = d.pop("address")

        def _parse_partner_address(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        partner_address = _parse_partner_address(d.pop("partner_address"))

        def _parse_shared_address(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        shared_address = _parse_shared_address(d.pop("shared_address"))

        boot_id = d.pop("boot_id")

        booted_at = d.pop("booted_at")

        boots_in_window = d.pop("boots_in_window")

        pacified = d.pop("pacified")

        maintenance = MaintenanceView.from_dict(d.pop("maintenance"))

        tracks = []
        _tracks = d.pop("tracks")
        for tracks_item_data in _tracks:
            tracks_item = TrackView.from_dict(tracks_item_data)

            tracks.append(tracks_item)

        unit_view = cls(
            name=name,
            mode=mode,
            version=version,
            protocol=protocol,
            redis_version=redis_version,
            pending=pending,
            reboot_required=reboot_required,
            address=address,
            partner_address=partner_address,
            shared_address=shared_address,
            boot_id=boot_id,
            booted_at=booted_at,
            boots_in_window=boots_in_window,
            pacified=pacified,
            maintenance=maintenance,
            tracks=tracks,
        )

        unit_view.additional_properties = d
        return unit_view

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
