from typing import Literal

HAParametersHaTimeout = Literal[3, 6, 9, 12, 15]

HA_PARAMETERS_HA_TIMEOUT_VALUES: set[HAParametersHaTimeout] = {
    3,
    6,
    9,
    12,
    15,
}


def check_ha_parameters_ha_timeout(value: int) -> HAParametersHaTimeout:
    if value in HA_PARAMETERS_HA_TIMEOUT_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {HA_PARAMETERS_HA_TIMEOUT_VALUES!r}")
