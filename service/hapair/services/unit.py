"""Unit use cases: the unit's view, staging settings for the next reboot, maintenance."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from hapair.domain.errors import FieldError, ValidationFailed
from hapair.domain.unit import (
    MODES,
    UNIT_FIELDS,
    MaintenanceView,
    UnitPatch,
    UnitView,
    check_unit_settings,
    is_loopback,
    parse_host_port,
    with_pending,
)
from hapair.domain.version import PROTOCOL, VERSION
from hapair.engine.control import HAControl
from hapair.store.unitfile import UnitFiles


def no_auth_refusal(listen: str, unit: Mapping[str, object]) -> str | None:
    """Why a ``--no-auth`` unit may not run with these settings, or None when it may.

    Without auth every address the unit listens on must be loopback: its direct address
    and the shared address (which it serves while active). Checked at start, when a change
    is staged, and before every reboot applies staged settings.
    """
    shared = unit.get("shared_address")
    addresses = [listen, *([shared] if isinstance(shared, str) and shared else [])]
    outside = [a for a in addresses if not is_loopback(a)]
    if not outside:
        return None
    return (
        "--no-auth is refused unless every address the unit listens on is loopback; "
        f"not loopback: {', '.join(outside)}"
    )


def view(engine: HAControl) -> UnitView:
    """``GET /unit``."""
    pending = engine.pending
    return UnitView(
        name=engine.name,
        mode=engine.unit.mode,
        version=VERSION,
        protocol=PROTOCOL,
        redis_version=engine.redis_version,
        pending=msgspec.convert(pending, UnitPatch) if pending else None,
        reboot_required=bool(pending),
        address=engine.address,
        partner_address=engine.unit.partner_address,
        shared_address=engine.unit.shared_address,
        boot_id=engine.boot_id,
        booted_at=engine.booted_at,
        boots_in_window=engine.boots_in_window(),
        pacified=engine.pacified,
        maintenance=MaintenanceView(
            enabled=engine.maintenance.enabled,
            reason=engine.maintenance.reason,
            since=engine.maintenance.since,
        ),
        tracks=engine.track_views(),
    )


def decode_patch(raw: object) -> UnitPatch:
    """``PATCH /unit``'s body as a ``UnitPatch``; 422 naming every bad field otherwise."""
    if not isinstance(raw, dict):
        raise ValidationFailed([FieldError("", "request body must be a JSON object")])
    try:
        return msgspec.convert(raw, UnitPatch)
    except msgspec.ValidationError:
        pass  # said field by field below, in the words of the unit rules
    errors = [FieldError(f"/{k}", f"unknown field '{k}'") for k in raw if k not in UNIT_FIELDS]
    if "mode" in raw and raw["mode"] not in MODES:
        errors.append(
            FieldError("/mode", f"mode must be one of non_ha, first, second, got {raw['mode']!r}")
        )
    for key in ("partner_address", "shared_address"):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            errors.append(FieldError(f"/{key}", f"{key} must be a string HOST:PORT or null"))
            continue
        try:
            parse_host_port(value, require_ip=key == "shared_address")
        except ValueError as exc:
            errors.append(FieldError(f"/{key}", f"{key}: {exc}"))
    raise ValidationFailed(errors or [FieldError("", "invalid unit settings")])


def stage(engine: HAControl, files: UnitFiles, raw: object) -> UnitView:
    """``PATCH /unit``: validates the settings the change would make; stores it pending."""
    patch = decode_patch(raw)
    current = engine.unit
    asked = {k: v for k in UNIT_FIELDS if (v := getattr(patch, k)) is not msgspec.UNSET}
    target = with_pending(with_pending(current, engine.pending), asked)
    check_unit_settings(target)
    if target.mode != "non_ha" and not engine.settings.pair_key:
        detail = f"mode {target.mode} needs a pair key: start the unit with --pair-key-file"
        raise ValidationFailed([FieldError("/mode", detail)])
    if engine.settings.no_auth:
        refusal = no_auth_refusal(engine.settings.listen, msgspec.structs.asdict(target))
        if refusal is not None:
            raise ValidationFailed([FieldError("/shared_address", refusal)])
    pending = {
        k: getattr(target, k) for k in UNIT_FIELDS if getattr(target, k) != getattr(current, k)
    }
    uf = files.load_unit()
    files.save_unit(type(uf)(settings=uf.settings, pending=pending or None))
    engine.pending = pending or None
    return view(engine)


def check_reboot(engine: HAControl, files: UnitFiles) -> None:
    """422 when the settings a reboot would apply are refused (``--no-auth`` off loopback).

    The staging check catches this first; this one covers a unit file changed by hand.
    """
    if not engine.settings.no_auth:
        return
    uf = files.load_unit()
    applied = msgspec.structs.asdict(with_pending(uf.settings, uf.pending))
    refusal = no_auth_refusal(engine.settings.listen, applied)
    if refusal is not None:
        raise ValidationFailed([FieldError("/shared_address", refusal)])


def parse_maintenance(raw: object) -> tuple[bool, str | None]:
    """``PUT /unit/maintenance``'s body: ``enabled`` (bool) and ``reason`` (string or null)."""
    if not isinstance(raw, dict):
        raise ValidationFailed([FieldError("", "request body must be a JSON object")])
    errors = [
        FieldError(f"/{k}", f"unknown field '{k}'") for k in raw if k not in ("enabled", "reason")
    ]
    enabled = raw.get("enabled")
    if not isinstance(enabled, bool):
        got = "nothing" if "enabled" not in raw else repr(enabled)
        errors.append(FieldError("/enabled", f"enabled must be true or false, got {got}"))
    reason = raw.get("reason")
    if reason is not None and not (isinstance(reason, str) and len(reason) <= 500):
        errors.append(FieldError("/reason", "reason must be a string of at most 500 characters"))
    if errors:
        raise ValidationFailed(errors)
    return bool(enabled), reason


class UnitService:
    """This unit's settings (kept in its data dir), reboot and maintenance."""

    def __init__(self, engine: HAControl, files: UnitFiles) -> None:
        self.engine = engine
        self.files = files

    def view(self) -> UnitView:
        """``GET /unit``."""
        return view(self.engine)

    def stage(self, raw: object) -> UnitView:
        """``PATCH /unit``."""
        return stage(self.engine, self.files, raw)

    def reboot(self) -> None:
        """``POST /unit/reboot``: refused (422) when the settings it would apply are."""
        check_reboot(self.engine, self.files)
        self.engine.schedule_reboot()

    async def set_maintenance(self, raw: object, *, force: bool) -> UnitView:
        """``PUT /unit/maintenance``."""
        enabled, reason = parse_maintenance(raw)
        await self.engine.set_maintenance(enabled=enabled, reason=reason, force=force)
        return view(self.engine)
