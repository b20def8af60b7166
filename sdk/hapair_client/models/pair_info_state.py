from typing import Literal

PairInfoState = Literal["degraded", "disabled", "misconfigured", "paired", "split-brain"]

PAIR_INFO_STATE_VALUES: set[PairInfoState] = {
    "degraded",
    "disabled",
    "misconfigured",
    "paired",
    "split-brain",
}


def check_pair_info_state(value: str) -> PairInfoState:
    if value in PAIR_INFO_STATE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {PAIR_INFO_STATE_VALUES!r}")
