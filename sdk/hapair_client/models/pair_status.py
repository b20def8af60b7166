from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.pair_info import PairInfo
    from ..models.unit_status import UnitStatus


T = TypeVar("T", bound="PairStatus")


@_attrs_define
class PairStatus:
    """
    Attributes:
        pair (PairInfo):
        units (list[UnitStatus] | Unset):
    """

    pair: PairInfo
    units: list[UnitStatus] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        pair = self.pair.to_dict()

        units: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.units, Unset):
            units = []
            for units_item_data in self.units:
                units_item = units_item_data.to_dict()
                units.append(units_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "pair": pair,
            }
        )
        if units is not UNSET:
            field_dict["units"] = units

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.pair_info import PairInfo  # noqa: PLC0415
        from ..models.unit_status import UnitStatus  # noqa: PLC0415

        d = dict(src_dict)
        pair = PairInfo.from_dict(d.pop("pair"))

        _units = d.pop("units", UNSET)
        units: list[UnitStatus] | Unset = UNSET
        if _units is not UNSET:
            units = []
            for units_item_data in _units:
                units_item = UnitStatus.from_dict(units_item_data)

                units.append(units_item)

        pair_status = cls(
            pair=pair,
            units=units,
        )

        pair_status.additional_properties = d
        return pair_status

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
