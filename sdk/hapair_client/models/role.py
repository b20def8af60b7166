from typing import Literal

Role = Literal["active", "indeterminate", "not_operational", "pacified", "standby"]

ROLE_VALUES: set[Role] = {
    "active",
    "indeterminate",
    "not_operational",
    "pacified",
    "standby",
}


def check_role(value: str) -> Role:
    if value in ROLE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {ROLE_VALUES!r}")
