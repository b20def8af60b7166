from typing import Literal

UnitPendingMode = Literal["first", "non_ha", "second"]

UNIT_PENDING_MODE_VALUES: set[UnitPendingMode] = {
    "first",
    "non_ha",
    "second",
}


def check_unit_pending_mode(value: str) -> UnitPendingMode:
    if value in UNIT_PENDING_MODE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {UNIT_PENDING_MODE_VALUES!r}")
