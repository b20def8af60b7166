from typing import Literal

UnitStatusReasonType0 = Literal[
    "maintenance",
    "not-synced",
    "partner-auth-failed",
    "same-mode",
    "shared-address-mismatch",
    "shared-address-unavailable",
    "starting",
    "track-failed",
    "unreachable",
    "version-skew",
]

UNIT_STATUS_REASON_TYPE_0_VALUES: set[UnitStatusReasonType0] = {
    "maintenance",
    "not-synced",
    "partner-auth-failed",
    "same-mode",
    "shared-address-mismatch",
    "shared-address-unavailable",
    "starting",
    "track-failed",
    "unreachable",
    "version-skew",
}


def check_unit_status_reason_type_0(value: str) -> UnitStatusReasonType0:
    if value in UNIT_STATUS_REASON_TYPE_0_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {UNIT_STATUS_REASON_TYPE_0_VALUES!r}")
