"""Redis URLs: what leaves the unit carries no credentials; the partner's gets ours added."""

from __future__ import annotations

import pytest
import redis

from hapair.store.urls import credentials, partner_store_url, public_url

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


def test_partner_store_url_adds_own_credentials() -> None:
    url = partner_store_url("redis://127.0.0.12:6500/0", OWN)
    assert url == "redis://hapair:s3cr%40t@127.0.0.12:6500/0"
    assert credentials(url) == ("hapair", "s3cr@t")
    kwargs = redis.connection.parse_url(url)  # type: ignore[no-untyped-call]
    assert (kwargs["username"], kwargs["password"], kwargs["host"], kwargs["port"]) == (
        "hapair",
        "s3cr@t",
        "127.0.0.12",
        6500,
    )


def test_partner_store_url_ignores_credentials_the_partner_advertises() -> None:
    url = partner_store_url("redis://evil:other@127.0.0.12:6500/0?ssl_ca_certs=/x", OWN)
    assert url == "redis://hapair:s3cr%40t@127.0.0.12:6500/0"


def test_partner_store_url_keeps_own_tls_options_for_a_tls_partner() -> None:
    url = partner_store_url("rediss://10.0.0.2:6400/0", OWN_TLS)
    assert url.startswith("rediss://hapair:pw@10.0.0.2:6400/0?")
    kwargs = redis.connection.parse_url(url)  # type: ignore[no-untyped-call]
    assert kwargs["ssl_ca_certs"] == "/etc/ca.pem"
    assert kwargs["ssl_check_hostname"] is False
    # a cleartext partner gets no TLS options
    assert (
        partner_store_url("redis://10.0.0.2:6400/0", OWN_TLS) == "redis://hapair:pw@10.0.0.2:6400/0"
    )


@pytest.mark.parametrize(
    "advertised", ["http://10.0.0.2:1/", "unix:///tmp/redis.sock", "redis://:1/0", "redis://h:x/0"]
)
def test_partner_store_url_refuses_unusable_urls(advertised: str) -> None:
    with pytest.raises(ValueError, match="unusable"):
        partner_store_url(advertised, OWN)


def test_partner_store_url_refuses_another_host_than_the_partner() -> None:
    assert partner_store_url("redis://10.0.0.2:6400/0", OWN, partner_host="10.0.0.2")
    assert partner_store_url("redis://[fd00::2]:6400/0", OWN, partner_host="fd00::2")
    with pytest.raises(ValueError, match="another host"):
        partner_store_url("redis://10.6.6.6:6400/0", OWN, partner_host="10.0.0.2")
