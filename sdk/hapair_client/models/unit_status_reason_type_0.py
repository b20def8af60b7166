from typing import Literal

UnitStatusReasonType0 = Literal["not-synced", "same-mode", "shared-address-mismatch", "starting", "unreachable"]

UNIT_STATUS_REASON_TYPE_0_VALUES: set[UnitStatusReasonType0] = {
    "not-synced",
    "same-mode",
    "shared-address-mismatch",
    "starting",
    "unreachable",
}


def check_unit_status_reason_type_0(value: str) -> UnitStatusReasonType0:
    if value in UNIT_STATUS_REASON_TYPE_0_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {UNIT_STATUS_REASON_TYPE_0_VALUES!r}")
