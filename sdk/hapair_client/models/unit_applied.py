from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.unit_applied_parameters import UnitAppliedParameters


T = TypeVar("T", bound="UnitApplied")


@_attrs_define
class UnitApplied:
    """
    Attributes:
        name (str): `first` or `second`.
        observed_revision (int | None): The revision the unit's data plane last applied (null: unknown).
        reported_at (None | str): RFC 3339 UTC: now for the answering unit, the last heartbeat heard for the partner
            (null: never heard).
        parameters (UnitAppliedParameters): Per parameter; empty for a partner never heard or older than v3.
    """

    name: str
    observed_revision: int | None
    reported_at: None | str
    parameters: UnitAppliedParameters
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        observed_revision: int | None
        observed_revision = self.observed_revision

        reported_at: None | str
        reported_at = self.reported_at

        parameters = self.parameters.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "observed_revision": observed_revision,
                "reported_at": reported_at,
                "parameters": parameters,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.unit_applied_parameters import UnitAppliedParameters  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name")

        def _parse_observed_revision(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        observed_revision = _parse_observed_revision(d.pop("observed_revision"))

        def _parse_reported_at(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        reported_at = _parse_reported_at(d.pop("reported_at"))

        parameters = UnitAppliedParameters.from_dict(d.pop("parameters"))

        unit_applied = cls(
            name=name,
            observed_revision=observed_revision,
            reported_at=reported_at,
            parameters=parameters,
        )

        unit_applied.additional_properties = d
        return unit_applied

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
