from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.conflict_changes import ConflictChanges
    from ..models.conflict_parameters import ConflictParameters


T = TypeVar("T", bound="Conflict")


@_attrs_define
class Conflict:
    """
    Attributes:
        unit (str):
        archived_at (str):
        revision (int):
        updated_at (str):
        actor (str):
        changes (ConflictChanges):
        parameters (ConflictParameters):
    """

    unit: str
    archived_at: str
    revision: int
    updated_at: str
    actor: str
    changes: ConflictChanges
    parameters: ConflictParameters
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        unit = self.unit

        archived_at = self.archived_at

        revision = self.revision

        updated_at = self.updated_at

        actor = self.actor

        changes = self.changes.to_dict()

        parameters = self.parameters.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "unit": unit,
                "archived_at": archived_at,
                "revision": revision,
                "updated_at": updated_at,
                "actor": actor,
                "changes": changes,
                "parameters": parameters,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.conflict_changes import ConflictChanges  # noqa: PLC0415
        from ..models.conflict_parameters import ConflictParameters  # noqa: PLC0415

        d = dict(src_dict)
        unit = d.pop("unit")

        archived_at = d.pop("archived_at")

        revision = d.pop("revision")

        updated_at = d.pop("updated_at")

        actor = d.pop("actor")

        changes = ConflictChanges.from_dict(d.pop("changes"))

        parameters = ConflictParameters.from_dict(d.pop("parameters"))

        conflict = cls(
            unit=unit,
            archived_at=archived_at,
            revision=revision,
            updated_at=updated_at,
            actor=actor,
            changes=changes,
            parameters=parameters,
        )

        conflict.additional_properties = d
        return conflict

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
