"""``hapair status``'s text, rendered from a status body without a server or a subprocess;
and how ``hapair status``/``hapair events`` find a unit and build their SDK client."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import httpx
import pytest

from hapair.cli.status import ICON_COLOURS, render, unit_client, unit_target
from hapair.settings import DEFAULT_LISTEN

AT = "2026-11-25T12:15:07.012Z"


def _unit(name: str, role: str, icon: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "role": role,
        "icon": icon,
        "address": f"127.0.0.1{name[0]}:8080",
        **extra,
    }


PAIRED: dict[str, Any] = {
    "pair": {"state": "paired", "active": "second"},
    "units": [
        _unit(
            "first",
            "standby",
            "green",
            revision=4,
            in_sync=True,
            role_since=AT,
            last_transition={"from": "active", "to": "standby", "cause": "boot", "at": AT},
        ),
        _unit(
            "second",
            "active",
            "green-active",
            revision=4,
            serving_shared=True,
            role_since=AT,
            last_transition={
                "from": "standby",
                "to": "active",
                "cause": "partner-lost",
                "at": AT,
            },
        ),
    ],
}


def test_paired_pair_with_colour() -> None:
    out = render(PAIRED, color=True)
    lines = out.splitlines()
    assert lines[0] == "pair: paired (active: second)"
    assert "\033[42m   \033[0m first   standby  rev 4 in sync  127.0.0.1f:8080" in out
    assert "\033[42;30m A \033[0m second  active  rev 4  127.0.0.1s:8080  serving shared" in out
    assert "last: standby -> active (partner-lost) at " + AT in out
    assert "last: active -> standby (boot) at " + AT in out
    # the standby does not serve the shared address
    assert "serving shared" not in next(line for line in lines if " first " in line)
    assert out.endswith("\n")


def test_without_colour_the_icon_is_named() -> None:
    out = render(PAIRED, color=False)
    assert "\033" not in out
    assert "[green] first" in out
    assert "[green-active] second" in out


@pytest.mark.parametrize(
    ("role", "reason", "icon"),
    [
        ("not_operational", "maintenance", "yellow"),
        ("not_operational", "unreachable", "red"),
        ("pacified", None, "blue"),
        ("indeterminate", None, "grey"),
    ],
)
def test_each_icon_has_its_square(role: str, reason: str | None, icon: str) -> None:
    body = {
        "pair": {"state": "degraded", "active": "first"},
        "units": [
            _unit("first", "active", "green-active", serving_shared=True),
            _unit("second", role, icon, reason=reason),
        ],
    }
    out = render(body, color=True)
    assert "pair: degraded (active: first)" in out
    suffix = f" ({reason})" if reason else ""
    assert f"{ICON_COLOURS[icon]} second  {role}{suffix}  rev None" in out
    assert f"[{icon}] second" in render(body, color=False)


def test_yellow_is_the_maintenance_square() -> None:
    assert ICON_COLOURS["yellow"] == "\033[43m   \033[0m"


def test_role_since_shown_without_a_transition() -> None:
    body = {
        "pair": {"state": "degraded", "active": None},
        "units": [_unit("first", "not_operational", "red", reason="starting", role_since=AT)],
    }
    out = render(body, color=False)
    assert out.splitlines()[0] == "pair: degraded"
    assert f"since {AT}" in out
    assert "last:" not in out


def test_disabled_pair_has_no_icons() -> None:
    out = render({"pair": {"state": "disabled", "active": None}, "units": []}, color=True)
    assert out == "pair: disabled\nHA is disabled on this unit (no HA icons)\n"


def test_the_sdk_model_renders_as_its_json() -> None:
    models = pytest.importorskip("hapair_client.models")  # the generated SDK (sdk/)
    model = models.PairStatus.from_dict(PAIRED)
    assert render(model, color=True) == render(PAIRED, color=True)
    assert render(model, color=False) == render(PAIRED, color=False)


def test_status_page_shows_transition_shared_and_the_yellow_square() -> None:
    from hapair.api.pages import SQUARES
    from hapair.api.pages import render as page
    from hapair.domain.status import LastTransition, PairInfo, unit_status
    from hapair.domain.status import PairStatus as DomainStatus

    status = DomainStatus(
        pair=PairInfo(state="degraded", active="first"),
        units=[
            unit_status(
                "first",
                "active",
                address="127.0.0.11:8080",
                serving_shared=True,
                last_transition=LastTransition(
                    from_role="standby", to_role="active", cause="partner-maintenance", at=AT
                ),
            ),
            unit_status("second", "not_operational", reason="maintenance", role_since=AT),
        ],
    )
    html = page(status, unit_name="first", address="127.0.0.11:8080", scheme="http")
    assert f'style="background:{SQUARES["yellow"][0]}"' in html
    assert 'data-icon="yellow"' in html
    assert "standby \u2192 active (partner-maintenance)" in html
    assert f"at {AT}" in html
    assert f"since {AT}" in html
    assert html.count("serving the shared address") == 1


def _ns(tmp_path: Path, **flags: Any) -> argparse.Namespace:
    values = {"url": None, "token": None, "data_dir": str(tmp_path), "tls_ca": None}
    return argparse.Namespace(**{**values, **flags})


def test_unit_target_reads_up_json_and_the_admin_token(tmp_path: Path) -> None:
    (tmp_path / "up.json").write_text('{"url": "http://127.0.0.10:9090"}\n')
    (tmp_path / "admin.token").write_text("hp_secret\n")
    assert unit_target(_ns(tmp_path)) == ("http://127.0.0.10:9090", "hp_secret")
    flags = _ns(tmp_path, url="http://127.0.0.11:1", token="other")
    assert unit_target(flags) == ("http://127.0.0.11:1", "other")


def test_unit_target_without_up_is_the_default_listen_address(tmp_path: Path) -> None:
    assert unit_target(_ns(tmp_path)) == (f"http://{DEFAULT_LISTEN}", None)


def test_unit_client_sends_the_token_only_when_there_is_one(tmp_path: Path) -> None:
    pytest.importorskip("hapair_client")  # the generated SDK (sdk/)
    timeout = httpx.Timeout(5)
    url, client = unit_client(_ns(tmp_path, url="http://u:1/", token="t"), "status", timeout)
    assert url == "http://u:1/" and client is not None
    with client:
        http = client.get_httpx_client()
        assert http.headers["Authorization"] == "Bearer t"
        request = http.build_request("GET", "/api/v1/ha/status")
        assert str(request.url) == "http://u:1/api/v1/ha/status"
    _, anonymous = unit_client(_ns(tmp_path, url="http://u:1"), "status", timeout)
    assert anonymous is not None
    with anonymous:
        assert "Authorization" not in anonymous.get_httpx_client().headers


def test_unit_client_refuses_an_unreadable_ca_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ns = _ns(tmp_path, url="https://u:1", tls_ca=str(tmp_path / "missing.pem"))
    assert unit_client(ns, "status", httpx.Timeout(5))[1] is None
    assert capsys.readouterr().err.startswith(f"hapair status: --tls-ca {ns.tls_ca}: ")


def test_render_shows_each_units_tracks_with_the_failure_escaped() -> None:
    body = {
        "pair": {"state": "degraded", "active": "second"},
        "units": [
            _unit(
                "first", "not_operational", "red", reason="track-failed",
                tracks=[
                    {"name": "web", "ok": False, "detail": "Connection refused\x1b[2J"},
                    {"name": "gw", "ok": True, "detail": "answers"},
                ],
            ),
            _unit("second", "active", "green-active", tracks=[{"name": "web", "ok": None}]),
        ],
    }  # fmt: skip
    out = render(body, color=False)
    assert "      tracks: web FAILED (Connection refused\\x1b[2J), gw ok\n" in out
    assert "      tracks: web not checked yet\n" in out
    assert "\x1b" not in out
    assert "tracks" not in render(PAIRED, color=False)
