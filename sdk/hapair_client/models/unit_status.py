from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.role import Role, check_role
from ..models.unit_status_reason_type_0 import UnitStatusReasonType0, check_unit_status_reason_type_0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.alert import Alert
    from ..models.last_transition import LastTransition
    from ..models.links import Links
    from ..models.track_summary import TrackSummary


T = TypeVar("T", bound="UnitStatus")


@_attrs_define
class UnitStatus:
    """
    Attributes:
        name (str):
        role (Role): A unit's role as the API shows it.
        icon (str):
        reason (None | UnitStatusReasonType0 | Unset):
        address (None | str | Unset):
        revision (int | None | Unset):
        last_heartbeat_at (None | str | Unset):
        in_sync (bool | None | Unset):
        serving_shared (bool | Unset):  Default: False.
        role_since (None | str | Unset):
        last_transition (LastTransition | None | Unset):
        pair_key_id (None | str | Unset):
        pair_key_next_id (None | str | Unset):
        tracks (list[TrackSummary] | Unset):
        version (None | str | Unset):
        protocol (int | None | Unset):
        detail (None | str | Unset):
        alerts (list[Alert] | Unset):
        links (Links | None | Unset):
    """

    name: str
    role: Role
    icon: str
    reason: None | UnitStatusReasonType0 | Unset = UNSET
    address: None | str | Unset = UNSET
    revision: int | None | Unset = UNSET
    last_heartbeat_at: None | str | Unset = UNSET
    in_sync: bool | None | Unset = UNSET
    serving_shared: bool | Unset = False
    role_since: None | str | Unset = UNSET
    last_transition: LastTransition | None | Unset = UNSET
    pair_key_id: None | str | Unset = UNSET
    pair_key_next_id: None | str | Unset = UNSET
    tracks: list[TrackSummary] | Unset = UNSET
    version: None | str | Unset = UNSET
    protocol: int | None | Unset = UNSET
    detail: None | str | Unset = UNSET
    alerts: list[Alert] | Unset = UNSET
    links: Links | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.last_transition import LastTransition  # noqa: PLC0415
        from ..models.links import Links  # noqa: PLC0415

        name = self.name

        role: str = self.role

        icon = self.icon

        reason: None | str | Unset
        if isinstance(self.reason, Unset):
            reason = UNSET
        elif isinstance(self.reason, str):
            reason = self.reason
        else:
            reason = self.reason

        address: None | str | Unset
        if isinstance(self.address, Unset):
            address = UNSET
        else:
            address = self.address

        revision: int | None | Unset
        if isinstance(self.revision, Unset):
            revision = UNSET
        else:
            revision = self.revision

        last_heartbeat_at: None | str | Unset
        if isinstance(self.last_heartbeat_at, Unset):
            last_heartbeat_at = UNSET
        else:
            last_heartbeat_at = self.last_heartbeat_at

        in_sync: bool | None | Unset
        if isinstance(self.in_sync, Unset):
            in_sync = UNSET
        else:
            in_sync = self.in_sync

        serving_shared = self.serving_shared

        role_since: None | str | Unset
        if isinstance(self.role_since, Unset):
            role_since = UNSET
        else:
            role_since = self.role_since

        last_transition: dict[str, Any] | None | Unset
        if isinstance(self.last_transition, Unset):
            last_transition = UNSET
        elif isinstance(self.last_transition, LastTransition):
            last_transition = self.last_transition.to_dict()
        else:
            last_transition = self.last_transition

        pair_key_id: None | str | Unset
        if isinstance(self.pair_key_id, Unset):
            pair_key_id = UNSET
        else:
            pair_key_id = self.pair_key_id

        pair_key_next_id: None | str | Unset
        if isinstance(self.pair_key_next_id, Unset):
            pair_key_next_id = UNSET
        else:
            pair_key_next_id = self.pair_key_next_id

        tracks: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.tracks, Unset):
            tracks = []
            for tracks_item_data in self.tracks:
                tracks_item = tracks_item_data.to_dict()
                tracks.append(tracks_item)

        version: None | str | Unset
        if isinstance(self.version, Unset):
            version = UNSET
        else:
            version = self.version

        protocol: int | None | Unset
        if isinstance(self.protocol, Unset):
            protocol = UNSET
        else:
            protocol = self.protocol

        detail: None | str | Unset
        if isinstance(self.detail, Unset):
            detail = UNSET
        else:
            detail = self.detail

        alerts: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.alerts, Unset):
            alerts = []
            for alerts_item_data in self.alerts:
                alerts_item = alerts_item_data.to_dict()
                alerts.append(alerts_item)

        links: dict[str, Any] | None | Unset
        if isinstance(self.links, Unset):
            links = UNSET
        elif isinstance(self.links, Links):
            links = self.links.to_dict()
        else:
            links = self.links

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
                "role": role,
                "icon": icon,
            }
        )
        if reason is not UNSET:
            field_dict["reason"] = reason
        if address is not UNSET:
            field_dict["address"] = address
        if revision is not UNSET:
            field_dict["revision"] = revision
        if last_heartbeat_at is not UNSET:
            field_dict["last_heartbeat_at"] = last_heartbeat_at
        if in_sync is not UNSET:
            field_dict["in_sync"] = in_sync
        if serving_shared is not UNSET:
            field_dict["serving_shared"] = serving_shared
        if role_since is not UNSET:
            field_dict["role_since"] = role_since
        if last_transition is not UNSET:
            field_dict["last_transition"] = last_transition
        if pair_key_id is not UNSET:
            field_dict["pair_key_id"] = pair_key_id
        if pair_key_next_id is not UNSET:
            field_dict["pair_key_next_id"] = pair_key_next_id
        if tracks is not UNSET:
            field_dict["tracks"] = tracks
        if version is not UNSET:
            field_dict["version"] = version
        if protocol is not UNSET:
            field_dict["protocol"] = protocol
        if detail is not UNSET:
            field_dict["detail"] = detail
        if alerts is not UNSET:
            field_dict["alerts"] = alerts
        if links is not UNSET:
            field_dict["links"] = links

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.alert import Alert  # noqa: PLC0415
        from ..models.last_transition import LastTransition  # noqa: PLC0415
        from ..models.links import Links  # noqa: PLC0415
        from ..models.track_summary import TrackSummary  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name")

        role = check_role(d.pop("role"))

        icon = d.pop("icon")

        def _parse_reason(data: object) -> None | UnitStatusReasonType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                reason_type_0 = check_unit_status_reason_type_0(data)

                return reason_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | UnitStatusReasonType0 | Unset, data)

        reason = _parse_reason(d.pop("reason", UNSET))

        def _parse_address(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        address = _parse_address(d.pop("address", UNSET))

        def _parse_revision(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        revision = _parse_revision(d.pop("revision", UNSET))

        def _parse_last_heartbeat_at(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        last_heartbeat_at = _parse_last_heartbeat_at(d.pop("last_heartbeat_at", UNSET))

        def _parse_in_sync(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        in_sync = _parse_in_sync(d.pop("in_sync", UNSET))

        serving_shared = d.pop("serving_shared", UNSET)

        def _parse_role_since(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        role_since = _parse_role_since(d.pop("role_since", UNSET))

        def _parse_last_transition(data: object) -> LastTransition | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                last_transition_type_0 = LastTransition.from_dict(data)

                return last_transition_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(LastTransition | None | Unset, data)

        last_transition = _parse_last_transition(d.pop("last_transition", UNSET))

        def _parse_pair_key_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        pair_key_id = _parse_pair_key_id(d.pop("pair_key_id", UNSET))

        def _parse_pair_key_next_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        pair_key_next_id = _parse_pair_key_next_id(d.pop("pair_key_next_id", UNSET))

        _tracks = d.pop("tracks", UNSET)
        tracks: list[TrackSummary] | Unset = UNSET
        if _tracks is not UNSET:
            tracks = []
            for tracks_item_data in _tracks:
                tracks_item = TrackSummary.from_dict(tracks_item_data)

                tracks.append(tracks_item)

        def _parse_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        version = _parse_version(d.pop("version", UNSET))

        def _parse_protocol(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        protocol = _parse_protocol(d.pop("protocol", UNSET))

        def _parse_detail(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        detail = _parse_detail(d.pop("detail", UNSET))

        _alerts = d.pop("alerts", UNSET)
        alerts: list[Alert] | Unset = UNSET
        if _alerts is not UNSET:
            alerts = []
            for alerts_item_data in _alerts:
                alerts_item = Alert.from_dict(alerts_item_data)

                alerts.append(alerts_item)

        def _parse_links(data: object) -> Links | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                links_type_0 = Links.from_dict(data)

                return links_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Links | None | Unset, data)

        links = _parse_links(d.pop("links", UNSET))

        unit_status = cls(
            name=name,
            role=role,
            icon=icon,
            reason=reason,
            address=address,
            revision=revision,
            last_heartbeat_at=last_heartbeat_at,
            in_sync=in_sync,
            serving_shared=serving_shared,
            role_since=role_since,
            last_transition=last_transition,
            pair_key_id=pair_key_id,
            pair_key_next_id=pair_key_next_id,
            tracks=tracks,
            version=version,
            protocol=protocol,
            detail=detail,
            alerts=alerts,
            links=links,
        )

        unit_status.additional_properties = d
        return unit_status

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
