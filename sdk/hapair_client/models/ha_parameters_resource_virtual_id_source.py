from typing import Literal

HAParametersResourceVirtualIdSource = Literal["auto", "manual"]

HA_PARAMETERS_RESOURCE_VIRTUAL_ID_SOURCE_VALUES: set[HAParametersResourceVirtualIdSource] = {
    "auto",
    "manual",
}


def check_ha_parameters_resource_virtual_id_source(value: str) -> HAParametersResourceVirtualIdSource:
    if value in HA_PARAMETERS_RESOURCE_VIRTUAL_ID_SOURCE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {HA_PARAMETERS_RESOURCE_VIRTUAL_ID_SOURCE_VALUES!r}")
