from typing import Literal

HAParametersPreferredServer = Literal["first", "none", "second"]

HA_PARAMETERS_PREFERRED_SERVER_VALUES: set[HAParametersPreferredServer] = {
    "first",
    "none",
    "second",
}


def check_ha_parameters_preferred_server(value: str) -> HAParametersPreferredServer:
    if value in HA_PARAMETERS_PREFERRED_SERVER_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {HA_PARAMETERS_PREFERRED_SERVER_VALUES!r}")
