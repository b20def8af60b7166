"""The metrics' setters keep every label set bounded, and render no ``_created`` series."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from hapair.metrics import APPLIED_STATES, Metrics


def _samples(m: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for f in text_string_to_metric_families(m.render().decode())
        for s in f.samples
    }


def test_unknown_causes_and_reasons_count_as_other() -> None:
    m = Metrics(causes=("failover",), reasons=("unauthorized",))
    m.role_changed("active", "failover")
    m.role_changed("active", "made-up")
    m.count_refused("unauthorized")
    m.count_refused("whatever")
    s = _samples(m)
    assert s[("hapair_role_changes_total", frozenset({("cause", "failover")}))] == 1
    assert s[("hapair_role_changes_total", frozenset({("cause", "other")}))] == 1
    assert s[("hapair_refused_total", frozenset({("reason", "unauthorized")}))] == 1
    assert s[("hapair_refused_total", frozenset({("reason", "other")}))] == 1
    assert ("hapair_refused_total", frozenset({("reason", "whatever")})) not in s
    assert not [k for k in s if k[0].endswith("_created")]


def test_parameter_applied_is_one_hot_and_makes_no_series_for_unknown_labels() -> None:
    m = Metrics()
    m.set_parameter_applied("use_virtual_mac", "failed")
    m.set_parameter_applied("use_virtual_mac", "applied")
    s = _samples(m)
    got = {
        dict(k[1])["state"]: v
        for k, v in s.items()
        if k[0] == "hapair_parameter_applied" and ("parameter", "use_virtual_mac") in k[1]
    }
    assert got == {state: (1 if state == "applied" else 0) for state in APPLIED_STATES}
    m.set_parameter_applied("no_such_parameter", "applied")
    m.set_parameter_applied("use_virtual_mac", "maybe")
    labels = {k[1] for k in _samples(m) if k[0] == "hapair_parameter_applied"}
    assert all(("parameter", "no_such_parameter") not in ls for ls in labels)
    assert all(("state", "maybe") not in ls for ls in labels)


def test_tracks_set_and_forgotten() -> None:
    m = Metrics()
    m.set_track_ok("gw", False)
    m.set_track_ok("web", True)
    m.forget_tracks(keep=["web"])
    s = _samples(m)
    assert s == {**s, ("hapair_track_ok", frozenset({("track", "web")})): 1}
    assert ("hapair_track_ok", frozenset({("track", "gw")})) not in s


def test_in_sync_follows_the_status_rule_not_the_public_role() -> None:
    """``hapair_in_sync`` is the other unit's ``in_sync`` under an active, whatever its public
    role: a standby in maintenance (``not_operational`` in public) that keeps replicating is in
    sync, as ``/ha/status`` says (issue 21); two actives, or none, never are."""
    from hapair.domain.status import PairInfo, PairStatus, unit_status
    from hapair.services.health import pair_in_sync

    def status(first: str, second: str, *, in_sync: bool | None) -> PairStatus:
        return PairStatus(
            pair=PairInfo(state="paired", active="first"),
            units=[unit_status("first", first, in_sync=True),
                   unit_status("second", second, in_sync=in_sync)],
        )  # fmt: skip

    assert pair_in_sync(status("active", "standby", in_sync=True))
    assert pair_in_sync(status("active", "not_operational", in_sync=True))  # maintenance
    assert not pair_in_sync(status("active", "standby", in_sync=False))
    assert not pair_in_sync(status("active", "not_operational", in_sync=None))
    assert not pair_in_sync(status("active", "active", in_sync=True))
    assert not pair_in_sync(status("standby", "not_operational", in_sync=True))
