from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ForcePartnerUpdateResult")


@_attrs_define
class ForcePartnerUpdateResult:
    """
    Attributes:
        revision (int):
        partner_revision (int):
        duration_ms (float):
    """

    revision: int
    partner_revision: int
    duration_ms: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        revision = self.revision

        partner_revision = self.partner_revision

        duration_ms = self.duration_ms

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "revision": revision,
                "partner_revision": partner_revision,
                "duration_ms": duration_ms,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        revision = d.pop("revision")

        partner_revision = d.pop("partner_revision")

        duration_ms = d.pop("duration_ms")

        force_partner_update_result = cls(
            revision=revision,
            partner_revision=partner_revision,
            duration_ms=duration_ms,
        )

        force_partner_update_result.additional_properties = d
        return force_partner_update_result

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
