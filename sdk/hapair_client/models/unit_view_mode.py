from typing import Literal

UnitViewMode = Literal["first", "non_ha", "second"]

UNIT_VIEW_MODE_VALUES: set[UnitViewMode] = {
    "first",
    "non_ha",
    "second",
}


def check_unit_view_mode(value: str) -> UnitViewMode:
    if value in UNIT_VIEW_MODE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {UNIT_VIEW_MODE_VALUES!r}")
