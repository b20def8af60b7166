from typing import Literal

HAParametersWriteHaTimeout = Literal[3, 6, 9, 12, 15]

HA_PARAMETERS_WRITE_HA_TIMEOUT_VALUES: set[HAParametersWriteHaTimeout] = {
    3,
    6,
    9,
    12,
    15,
}


def check_ha_parameters_write_ha_timeout(value: int) -> HAParametersWriteHaTimeout:
    if value in HA_PARAMETERS_WRITE_HA_TIMEOUT_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {HA_PARAMETERS_WRITE_HA_TIMEOUT_VALUES!r}")
