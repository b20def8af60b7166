from typing import Literal

ParameterAppliedState = Literal["applied", "failed", "pending", "unsupported"]

PARAMETER_APPLIED_STATE_VALUES: set[ParameterAppliedState] = {
    "applied",
    "failed",
    "pending",
    "unsupported",
}


def check_parameter_applied_state(value: str) -> ParameterAppliedState:
    if value in PARAMETER_APPLIED_STATE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {PARAMETER_APPLIED_STATE_VALUES!r}")
