"""Unit use cases: the unit's view, staging settings for the next reboot."""

from __future__ import annotations

from typing import Any

import msgspec

from hapair.api import wire
from hapair.domain.errors import FieldError, ValidationFailed
from hapair.domain.unit import UnitSettings, check_unit_settings
from hapair.engine.engine import HAEngine
from hapair.store.unitfile import UnitFiles

UNIT_FIELDS = ("mode", "partner_address", "shared_address")


def view(engine: HAEngine) -> wire.UnitView:
    """``GET /unit``."""
    pending = engine.pending
    return wire.UnitView(
        name=engine.name,
        mode=engine.unit.mode,
        pending=msgspec.convert(pending, wire.UnitPending) if pending else None,
        reboot_required=bool(pending),
        address=engine.address,
        partner_address=engine.unit.partner_address,
        shared_address=engine.unit.shared_address,
        boot_id=engine.boot_id,
        booted_at=engine.booted_at,
        boots_in_window=engine.boots_in_window(),
        pacified=engine.pacified,
    )


def stage(engine: HAEngine, files: UnitFiles, raw: object) -> wire.UnitView:
    """``PATCH /unit``: validates the settings the change would make; stores it pending."""
    if not isinstance(raw, dict):
        raise ValidationFailed([FieldError("", "request body must be a JSON object")])
    errors = [FieldError(f"/{k}", f"unknown field '{k}'") for k in raw if k not in UNIT_FIELDS]
    for key in ("partner_address", "shared_address"):
        if key in raw and raw[key] is not None and not isinstance(raw[key], str):
            errors.append(FieldError(f"/{key}", f"{key} must be a string HOST:PORT or null"))
    if "mode" in raw and raw["mode"] not in ("non_ha", "first", "second"):
        errors.append(
            FieldError("/mode", f"mode must be one of non_ha, first, second, got {raw['mode']!r}")
        )
    if errors:
        raise ValidationFailed(errors)
    current = engine.unit
    staged: dict[str, Any] = {
        "mode": current.mode,
        "partner_address": current.partner_address,
        "shared_address": current.shared_address,
        **(engine.pending or {}),
        **{k: raw[k] for k in UNIT_FIELDS if k in raw},
    }
    target = UnitSettings(**staged)
    check_unit_settings(target)
    if target.mode != "non_ha" and not engine.settings.pair_key:
        detail = f"mode {target.mode} needs a pair key: start the unit with --pair-key"
        raise ValidationFailed([FieldError("/mode", detail)])
    pending = {k: staged[k] for k in UNIT_FIELDS if staged[k] != getattr(current, k)}
    uf = files.load_unit()
    files.save_unit(type(uf)(settings=uf.settings, pending=pending or None))
    engine.pending = pending or None
    return view(engine)
