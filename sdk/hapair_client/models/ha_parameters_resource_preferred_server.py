from typing import Literal

HAParametersResourcePreferredServer = Literal["first", "none", "second"]

HA_PARAMETERS_RESOURCE_PREFERRED_SERVER_VALUES: set[HAParametersResourcePreferredServer] = {
    "first",
    "none",
    "second",
}


def check_ha_parameters_resource_preferred_server(value: str) -> HAParametersResourcePreferredServer:
    if value in HA_PARAMETERS_RESOURCE_PREFERRED_SERVER_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {HA_PARAMETERS_RESOURCE_PREFERRED_SERVER_VALUES!r}")
