from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.history_item_changes import HistoryItemChanges


T = TypeVar("T", bound="HistoryItem")


@_attrs_define
class HistoryItem:
    """
    Attributes:
        revision (int):
        updated_at (str):
        actor (str):
        changes (HistoryItemChanges):
    """

    revision: int
    updated_at: str
    actor: str
    changes: HistoryItemChanges
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        revision = self.revision

        updated_at = self.updated_at

        actor = self.actor

        changes = self.changes.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "revision": revision,
                "updated_at": updated_at,
                "actor": actor,
                "changes": changes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.history_item_changes import HistoryItemChanges  # noqa: PLC0415

        d = dict(src_dict)
        revision = d.pop("revision")

        updated_at = d.pop("updated_at")

        actor = d.pop("actor")

        changes = HistoryItemChanges.from_dict(d.pop("changes"))

        history_item = cls(
            revision=revision,
            updated_at=updated_at,
            actor=actor,
            changes=changes,
        )

        history_item.additional_properties = d
        return history_item

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
