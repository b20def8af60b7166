from typing import Literal

UnitStatusRole = Literal["active", "indeterminate", "not_operational", "pacified", "standby"]

UNIT_STATUS_ROLE_VALUES: set[UnitStatusRole] = {
    "active",
    "indeterminate",
    "not_operational",
    "pacified",
    "standby",
}


def check_unit_status_role(value: str) -> UnitStatusRole:
    if value in UNIT_STATUS_ROLE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {UNIT_STATUS_ROLE_VALUES!r}")
