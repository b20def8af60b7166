from typing import Literal

HAParametersResourceHaTimeout = Literal[3, 6, 9, 12, 15]

HA_PARAMETERS_RESOURCE_HA_TIMEOUT_VALUES: set[HAParametersResourceHaTimeout] = {
    3,
    6,
    9,
    12,
    15,
}


def check_ha_parameters_resource_ha_timeout(value: int) -> HAParametersResourceHaTimeout:
    if value in HA_PARAMETERS_RESOURCE_HA_TIMEOUT_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {HA_PARAMETERS_RESOURCE_HA_TIMEOUT_VALUES!r}")
