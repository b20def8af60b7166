from typing import Literal

TokenCreateRole = Literal["admin", "viewer"]

TOKEN_CREATE_ROLE_VALUES: set[TokenCreateRole] = {
    "admin",
    "viewer",
}


def check_token_create_role(value: str) -> TokenCreateRole:
    if value in TOKEN_CREATE_ROLE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {TOKEN_CREATE_ROLE_VALUES!r}")
