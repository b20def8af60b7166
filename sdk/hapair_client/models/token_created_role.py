from typing import Literal

TokenCreatedRole = Literal["admin", "viewer"]

TOKEN_CREATED_ROLE_VALUES: set[TokenCreatedRole] = {
    "admin",
    "viewer",
}


def check_token_created_role(value: str) -> TokenCreatedRole:
    if value in TOKEN_CREATED_ROLE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {TOKEN_CREATED_ROLE_VALUES!r}")
