from typing import Literal

HAParametersPatchPreferredServerType0 = Literal["first", "none", "second"]

HA_PARAMETERS_PATCH_PREFERRED_SERVER_TYPE_0_VALUES: set[HAParametersPatchPreferredServerType0] = {
    "first",
    "none",
    "second",
}


def check_ha_parameters_patch_preferred_server_type_0(value: str) -> HAParametersPatchPreferredServerType0:
    if value in HA_PARAMETERS_PATCH_PREFERRED_SERVER_TYPE_0_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {HA_PARAMETERS_PATCH_PREFERRED_SERVER_TYPE_0_VALUES!r}"
    )
