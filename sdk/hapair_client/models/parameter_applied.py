from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.parameter_applied_state import ParameterAppliedState, check_parameter_applied_state

T = TypeVar("T", bound="ParameterApplied")


@_attrs_define
class ParameterApplied:
    """
    Attributes:
        state (ParameterAppliedState): `applied`: in effect as stored; `pending`: being applied; `unsupported`: this
            unit cannot apply it; `failed`: applying it failed
        detail (str): What drives it, or why it is not applied.
    """

    state: ParameterAppliedState
    detail: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        state: str = self.state

        detail = self.detail

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "state": state,
                "detail": detail,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        state = check_parameter_applied_state(d.pop("state"))

        detail = d.pop("detail")

        parameter_applied = cls(
            state=state,
            detail=detail,
        )

        parameter_applied.additional_properties = d
        return parameter_applied

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
