from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.import_result_changes import ImportResultChanges
    from ..models.token_changes import TokenChanges


T = TypeVar("T", bound="ImportResult")


@_attrs_define
class ImportResult:
    """
    Attributes:
        changes (ImportResultChanges):
        tokens (TokenChanges):
        revision (int):
        dry_run (bool):
    """

    changes: ImportResultChanges
    tokens: TokenChanges
    revision: int
    dry_run: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        changes = self.changes.to_dict()

        tokens = self.tokens.to_dict()

        revision = self.revision

        dry_run = self.dry_run

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "changes": changes,
                "tokens": tokens,
                "revision": revision,
                "dry_run": dry_run,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.import_result_changes import ImportResultChanges  # noqa: PLC0415
        from ..models.token_changes import TokenChanges  # noqa: PLC0415

        d = dict(src_dict)
        changes = ImportResultChanges.from_dict(d.pop("changes"))

        tokens = TokenChanges.from_dict(d.pop("tokens"))

        revision = d.pop("revision")

        dry_run = d.pop("dry_run")

        import_result = cls(
            changes=changes,
            tokens=tokens,
            revision=revision,
            dry_run=dry_run,
        )

        import_result.additional_properties = d
        return import_result

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
