"""``hapair status``'s text, rendered from a status body without a server or a subprocess."""

from __future__ import annotations

from typing import Any

import pytest

from hapair.cli.status import ICON_COLOURS, render

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
