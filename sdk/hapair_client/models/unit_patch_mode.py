from typing import Literal

UnitPatchMode = Literal["first", "non_ha", "second"]

UNIT_PATCH_MODE_VALUES: set[UnitPatchMode] = {
    "first",
    "non_ha",
    "second",
}


def check_unit_patch_mode(value: str) -> UnitPatchMode:
    if value in UNIT_PATCH_MODE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {UNIT_PATCH_MODE_VALUES!r}")
