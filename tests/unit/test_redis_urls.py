"""Redis URLs: what leaves the unit carries no credentials."""

from __future__ import annotations

import pytest
import redis

from hapair.urls import credentials, public_url

OWN = "redis://hapair:s3cr%40t@127.0.0.1:6400/0"
OWN_TLS = "rediss://hapair:pw@10.0.0.1:6400/0?ssl_ca_certs=%2Fetc%2Fca.pem&ssl_check_hostname=false"


@pytest.mark.parametrize(
    ("url", "public"),
    [
        (OWN, "redis://127.0.0.1:6400/0"),
        (OWN_TLS, "rediss://10.0.0.1:6400/0"),
        ("redis://:only-a-password@host:1/2", "redis://host:1/2"),
        ("redis://user@[::1]:7000/0", "redis://[::1]:7000/0"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://h:notaport/0", "<redis url>"),
        ("http://user:pw@h:1/", "<redis url>"),
    ],
)
def test_public_url_drops_credentials_and_options(url: str, public: str) -> None:
    assert public_url(url) == public
    assert "pw" not in public_url(url) and "s3cr" not in public_url(url)


def test_credentials_reads_user_and_password() -> None:
    assert credentials(OWN) == ("hapair", "s3cr@t")
    kwargs = redis.connection.parse_url(OWN)  # type: ignore[no-untyped-call]
    assert (kwargs["username"], kwargs["password"]) == ("hapair", "s3cr@t")
