from typing import Literal

HAParametersWritePreferredServer = Literal["first", "none", "second"]

HA_PARAMETERS_WRITE_PREFERRED_SERVER_VALUES: set[HAParametersWritePreferredServer] = {
    "first",
    "none",
    "second",
}


def check_ha_parameters_write_preferred_server(value: str) -> HAParametersWritePreferredServer:
    if value in HA_PARAMETERS_WRITE_PREFERRED_SERVER_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {HA_PARAMETERS_WRITE_PREFERRED_SERVER_VALUES!r}")
