from typing import Literal

TokenItemRole = Literal["admin", "viewer"]

TOKEN_ITEM_ROLE_VALUES: set[TokenItemRole] = {
    "admin",
    "viewer",
}


def check_token_item_role(value: str) -> TokenItemRole:
    if value in TOKEN_ITEM_ROLE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {TOKEN_ITEM_ROLE_VALUES!r}")
