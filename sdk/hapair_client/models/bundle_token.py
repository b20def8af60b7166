from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.bundle_token_role import BundleTokenRole, check_bundle_token_role

T = TypeVar("T", bound="BundleToken")


@_attrs_define
class BundleToken:
    """An API token as a bundle carries it: its metadata and the SHA-256 digest it is looked up
    by (never the token itself, which the pair does not hold).

        Attributes:
            id (str):
            role (BundleTokenRole):
            description (None | str):
            created_at (datetime.datetime):
            expires_at (datetime.datetime | None):
            digest (str):
    """

    id: str
    role: BundleTokenRole
    description: None | str
    created_at: datetime.datetime
    expires_at: datetime.datetime | None
    digest: str

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        role: str = self.role

        description: None | str
        description = self.description

        created_at = self.created_at.isoformat()

        expires_at: None | str
        if isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at

        digest = self.digest

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "role": role,
                "description": description,
                "created_at": created_at,
                "expires_at": expires_at,
                "digest": digest,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        role = check_bundle_token_role(d.pop("role"))

        def _parse_description(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        description = _parse_description(d.pop("description"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_expires_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expires_at_type_0 = datetime.datetime.fromisoformat(data)

                return expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        expires_at = _parse_expires_at(d.pop("expires_at"))

        digest = d.pop("digest")

        bundle_token = cls(
            id=id,
            role=role,
            description=description,
            created_at=created_at,
            expires_at=expires_at,
            digest=digest,
        )

        return bundle_token
