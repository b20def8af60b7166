from typing import Literal

BundleTokenRole = Literal["admin", "viewer"]

BUNDLE_TOKEN_ROLE_VALUES: set[BundleTokenRole] = {
    "admin",
    "viewer",
}


def check_bundle_token_role(value: str) -> BundleTokenRole:
    if value in BUNDLE_TOKEN_ROLE_VALUES:
        return value
    raise TypeError(f"Unexpected value {value!r}. Expected one of {BUNDLE_TOKEN_ROLE_VALUES!r}")
