from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.bundle_token import BundleToken
    from ..models.ha_parameters import HAParameters


T = TypeVar("T", bound="Bundle")


@_attrs_define
class Bundle:
    """A backup of the pair: the HA parameters as written and the API tokens (format 1).

    ``checksum`` is the SHA-256 of the canonical JSON of the other members (docs/api.md,
    "Backup and restore").

        Attributes:
            format_ (int):
            hapair_version (str):
            exported_at (datetime.datetime):
            revision (int):
            parameters (HAParameters): The stored HA parameters (without revision metadata).
            tokens (list[BundleToken]):
            checksum (str):
    """

    format_: int
    hapair_version: str
    exported_at: datetime.datetime
    revision: int
    parameters: HAParameters
    tokens: list[BundleToken]
    checksum: str

    def to_dict(self) -> dict[str, Any]:
        format_ = self.format_

        hapair_version = self.hapair_version

        exported_at = self.exported_at.isoformat()

        revision = self.revision

        parameters = self.parameters.to_dict()

        tokens = []
        for tokens_item_data in self.tokens:
            tokens_item = tokens_item_data.to_dict()
            tokens.append(tokens_item)

        checksum = self.checksum

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "format": format_,
                "hapair_version": hapair_version,
                "exported_at": exported_at,
                "revision": revision,
                "parameters": parameters,
                "tokens": tokens,
                "checksum": checksum,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.bundle_token import BundleToken  # noqa: PLC0415
        from ..models.ha_parameters import HAParameters  # noqa: PLC0415

        d = dict(src_dict)
        format_ = d.pop("format")

        hapair_version = d.pop("hapair_version")

        exported_at = datetime.datetime.fromisoformat(d.pop("exported_at"))

        revision = d.pop("revision")

        parameters = HAParameters.from_dict(d.pop("parameters"))

        tokens = []
        _tokens = d.pop("tokens")
        for tokens_item_data in _tokens:
            tokens_item = BundleToken.from_dict(tokens_item_data)

            tokens.append(tokens_item)

        checksum = d.pop("checksum")

        bundle = cls(
            format_=format_,
            hapair_version=hapair_version,
            exported_at=exported_at,
            revision=revision,
            parameters=parameters,
            tokens=tokens,
            checksum=checksum,
        )

        return bundle
