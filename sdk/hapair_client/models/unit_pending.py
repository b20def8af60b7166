from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.unit_pending_mode import UnitPendingMode, check_unit_pending_mode
from ..types import UNSET, Unset

T = TypeVar("T", bound="UnitPending")


@_attrs_define
class UnitPending:
    """
    Attributes:
        mode (UnitPendingMode | Unset):
        partner_address (None | str | Unset):
        shared_address (None | str | Unset):
    """

    mode: UnitPendingMode | Unset = UNSET
    partner_address: None | str | Unset = UNSET
    shared_address: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        mode: str | Unset = UNSET
        if not isinstance(self.mode, Unset):
            mode = self.mode

        partner_address: None | str | Unset
        if isinstance(self.partner_address, Unset):
            partner_address = UNSET
        else:
            partner_address = self.partner_address

        shared_address: None | str | Unset
        if isinstance(self.shared_address, Unset):
            shared_address = UNSET
        else:
            shared_address = self.shared_address

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if mode is not UNSET:
            field_dict["mode"] = mode
        if partner_address is not UNSET:
            field_dict["partner_address"] = partner_address
        if shared_address is not UNSET:
            field_dict["shared_address"] = shared_address

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _mode = d.pop("mode", UNSET)
        mode: UnitPendingMode | Unset
        if isinstance(_mode, Unset):
            mode = UNSET
        else:
            mode = check_unit_pending_mode(_mode)

        def _parse_partner_address(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        partner_address = _parse_partner_address(d.pop("partner_address", UNSET))

        def _parse_shared_address(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        shared_address = _parse_shared_address(d.pop("shared_address", UNSET))

        unit_pending = cls(
            mode=mode,
            partner_address=partner_address,
            shared_address=shared_address,
        )

        unit_pending.additional_properties = d
        return unit_pending

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
