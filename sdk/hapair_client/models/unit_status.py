from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.unit_status_reason_type_0 import UnitStatusReasonType0, check_unit_status_reason_type_0
from ..models.unit_status_role import UnitStatusRole, check_unit_status_role
from ..types import UNSET, Unset

T = TypeVar("T", bound="UnitStatus")


@_attrs_define
class UnitStatus:
    """
    Attributes:
        name (str):
        role (UnitStatusRole):
        icon (str):
        reason (None | UnitStatusReasonType0 | Unset):
        address (None | str | Unset):
        revision (int | None | Unset):
        last_heartbeat_at (None | str | Unset):
        in_sync (bool | None | Unset):
    """

    name: str
    role: UnitStatusRole
    icon: str
    reason: None | UnitStatusReasonType0 | Unset = UNSET
    address: None | str | Unset = UNSET
    revision: int | None | Unset = UNSET
    last_heartbeat_at: None | str | Unset = UNSET
    in_sync: bool | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        role: str = self.role

        icon = self.icon

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        elif isinstance(self.reason, str):
            reason = self.reason
        else:
            reason = self.reason

        address: None | str | Unset
        if isinstance(self.address, Unset):
            address = UNSET
        else:
            address = self.address

        revision: int | None | Unset
        if isinstance(self.revision, Unset):
            revision = UNSET
        else:
            revision = self.revision

        last_heartbeat_at: None | str | Unset
        if isinstance(self.last_heartbeat_at, Unset):
            last_heartbeat_at = UNSET
        else:
            last_heartbeat_at = self.last_heartbeat_at

        in_sync: bool | None | Unset
        if isinstance(self.in_sync, Unset):
            in_sync = UNSET
        else:
            in_sync = self.in_sync

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "role": role,
                "icon": icon,
            }
        )
        if reason is not UNSET:
            field_dict["reason"] = reason
        if address is not UNSET:
            field_dict["address"] = address
        if revision is not UNSET:
            field_dict["revision"] = revision
        if last_heartbeat_at is not UNSET:
            field_dict["last_heartbeat_at"] = last_heartbeat_at
        if in_sync is not UNSET:
            field_dict["in_sync"] = in_sync

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        role = check_unit_status_role(d.pop("role"))

        icon = d.pop("icon")

        def _parse_reason(data: object) -> None | UnitStatusReasonType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                reason_type_0 = check_unit_status_reason_type_0(data)

                return reason_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UnitStatusReasonType0 | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))

        def _parse_address(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        address = _parse_address(d.pop("address", UNSET))

        def _parse_revision(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        revision = _parse_revision(d.pop("revision", UNSET))

        def _parse_last_heartbeat_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_heartbeat_at = _parse_last_heartbeat_at(d.pop("last_heartbeat_at", UNSET))

        def _parse_in_sync(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        in_sync = _parse_in_sync(d.pop("in_sync", UNSET))

        unit_status = cls(
            name=name,
            role=role,
            icon=icon,
            reason=reason,
            address=address,
            revision=revision,
            last_heartbeat_at=last_heartbeat_at,
            in_sync=in_sync,
        )

        unit_status.additional_properties = d
        return unit_status

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
