from typing import Literal

HAParametersPatchHaTimeoutType0 = Literal[3, 6, 9, 12, 15]

HA_PARAMETERS_PATCH_HA_TIMEOUT_TYPE_0_VALUES: set[HAParametersPatchHaTimeoutType0] = {
    3,
    6,
    9,
    12,
    15,
}


def check_ha_parameters_patch_ha_timeout_type_0(value: int) -> HAParametersPatchHaTimeoutType0:
    if value in HA_PARAMETERS_PATCH_HA_TIMEOUT_TYPE_0_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {HA_PARAMETERS_PATCH_HA_TIMEOUT_TYPE_0_VALUES!r}")
