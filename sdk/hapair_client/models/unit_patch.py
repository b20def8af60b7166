from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.unit_patch_mode import UnitPatchMode, check_unit_patch_mode
from ..types import UNSET, Unset

T = TypeVar("T", bound="UnitPatch")


@_attrs_define
class UnitPatch:
    """Unit settings to change at the next reboot (also: the changes waiting for it).

    Attributes:
        mode (UnitPatchMode | Unset):
        partner_address (None | str | Unset):
        shared_address (None | str | Unset):
    """

    mode: UnitPatchMode | Unset = UNSET
    partner_address: None | str | Unset = UNSET
    shared_address: None | str | Unset = UNSET

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
        mode: UnitPatchMode | Unset
        if isinstance(_mode, Unset):
            mode = UNSET
        else:
            mode = check_unit_patch_mode(_mode)

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

        unit_patch = cls(
            mode=mode,
            partner_address=partner_address,
            shared_address=shared_address,
        )

        return unit_patch
