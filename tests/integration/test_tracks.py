"""Tracks and the failback delay on a real pair of ``hapair serve`` processes (one host).

Each unit's track is an ``exec`` check of a flag file the test removes and puts back: the
service fails and recovers as the unit sees it. (The same on two hosts with a real HAProxy
behind the virtual IP: test_tracks_netns.py.)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.integration.conftest import MakePair
from tests.integration.pairs import Pair
from tests.integration.sse import Follower
from tests.support import poll


def _tracked_pair(
    make_pair: MakePair, tmp_path: Path, **kwargs: Any
) -> tuple[Pair, dict[str, Path]]:
    flags = {n: tmp_path / f"{n}.up" for n in ("first", "second")}
    for f in flags.values():
        f.touch()
    options = "interval=0.2,timeout=3,fall=2,rise=1"
    extra = {n: ["--track", f"svc:exec:test -e {flags[n]},{options}"] for n in flags}
    return make_pair(extra=extra, **kwargs), flags


def _unit(status: dict[str, Any], name: str) -> dict[str, Any]:
    return next(u for u in status["units"] if u["name"] == name)


def test_a_failed_track_moves_the_role_and_the_unit_is_red_until_it_recovers(
    make_pair: MakePair, tmp_path: Path
) -> None:
    pair, flags = _tracked_pair(make_pair, tmp_path)
    pair.start_both()
    seen = poll(
        lambda: (
            (s := pair.status(pair.first))
            and all(
                u["tracks"] == [{"name": "svc", "ok": True, "detail": "exit 0"}] for u in s["units"]
            )
            and s
        ),
        timeout=10,
        what="both units' tracks healthy in first's status",
    )
    assert seen["pair"]["state"] == "paired"
    # on the unit that stays up (a stream through the shared address ends when it moves)
    events = Follower(pair.second.url, pair.token, params={"types": "track,role"})
    try:
        flags["first"].unlink()  # the active's service fails
        after = pair.wait_roles({"first": "not_operational", "second": "active"}, via=pair.second)
        first = _unit(after, "first")
        assert (first["icon"], first["reason"]) == ("red", "track-failed")
        assert first["tracks"][0]["ok"] is False
        poll(  # the listener answers a moment before the transition is recorded
            lambda: (
                _unit(pair.status(pair.second), "second")["last_transition"]["cause"]
                == "track-failed"
            ),
            timeout=5,
            what="second's transition with cause track-failed",
        )
        assert pair.shared_unit_name() == "second"
        unit = pair.http.get(f"{pair.first.url}/api/v1/unit").json()
        [track] = unit["tracks"]
        assert (track["name"], track["kind"], track["ok"]) == ("svc", "exec", False)
        assert track["target"] == f"test -e {flags['first']}" and track["since"]
        # a switchover to the red unit is refused by its check
        dry = pair.http.post(f"{pair.shared_url}/api/v1/ha/actions/switchover?dry_run=true")
        check = {c["name"]: c for c in dry.json()["checks"]}["partner-tracks-ok"]
        assert check["ok"] is False and "svc" in check["detail"]
        # a takeover on the red unit is refused
        r = pair.http.post(f"{pair.first.url}/api/v1/unit/takeover")
        assert r.status_code == 409 and "failed track" in r.json()["detail"]

        flags["first"].touch()  # recovered: green standby again, the role stays (no preferred)
        back = pair.wait_roles({"first": "standby", "second": "active"}, via=pair.second)
        assert _unit(back, "first")["last_transition"]["cause"] == "track-recovered"
        poll(
            lambda: any(e.get("ok") is True for e in events.of("track")),
            timeout=10,
            what=f"the track event of the recovery in {[(e.event, e.data) for e in events.events]}",
        )
        tracks = events.of("track")
        assert {"unit": "first", "name": "svc", "ok": False} in [
            {k: e[k] for k in ("unit", "name", "ok")} for e in tracks
        ]
        causes = {(e["unit"], e["cause"]) for e in events.of("role")}
        assert ("second", "track-failed") in causes and ("first", "track-failed") in causes
        assert pair.roles(pair.second) == {"first": "standby", "second": "active"}
        metrics = pair.http.get(f"{pair.first.url}/metrics").text
        assert 'hapair_track_ok{track="svc"} 1.0' in metrics
    finally:
        events.close()


def test_an_active_with_a_failed_track_stays_when_its_partner_is_red_too(
    make_pair: MakePair, tmp_path: Path
) -> None:
    pair, flags = _tracked_pair(make_pair, tmp_path)
    pair.start_both()
    flags["second"].unlink()
    pair.wait_roles({"first": "active", "second": "not_operational"}, via=pair.first)
    flags["first"].unlink()
    poll(
        lambda: _unit(pair.status(pair.first), "first")["tracks"][0]["ok"] is False,
        timeout=10,
        what="first's track failed",
    )
    status = pair.status(pair.first)
    assert _unit(status, "first")["role"] == "active"  # a degraded active beats none
    assert _unit(status, "second")["reason"] == "track-failed"
    assert pair.shared_unit_name() == "first"
    metrics = pair.http.get(f"{pair.first.url}/metrics").text
    assert 'hapair_track_ok{track="svc"} 0.0' in metrics


def test_failback_delay_holds_the_returning_preferred_server(
    make_pair: MakePair, tmp_path: Path
) -> None:
    delay = 3
    pair, _ = _tracked_pair(make_pair, tmp_path)
    pair.start_both()
    r = pair.patch({"preferred_server": "first", "failback_delay": delay})
    assert r.status_code == 200, r.text
    pair.first.kill9()
    pair.wait_roles({"second": "active"}, via=pair.second)
    restarted = time.monotonic()
    pair.first.start()

    def fit_and_in_sync() -> float | bool:
        me = _unit(pair.status(pair.first), "first")
        return me["role"] == "standby" and me["in_sync"] is True and time.monotonic()

    # first as its own status shows it: a standby, healthy (its tracks) and in sync, seen
    # within a poll of when its engine saw it (so "fit" below is at or after the engine's)
    fit = poll(fit_and_in_sync, timeout=15, interval=0.05, what="first back, in sync")
    became = poll(
        lambda: pair.shared_unit_name() == "first" and time.monotonic(),
        timeout=delay + 15,
        interval=0.05,
        what="first takes the role back",
    )
    took = became - restarted
    print(
        f"failback_delay {delay} s: first active {took:.2f} s after its restart, "
        f"{became - fit:.2f} s after it was seen fit and in sync"
    )
    # never sooner than failback_delay after it was healthy and in sync (which is after its
    # restart); never much later than that plus 2 heartbeats: the exact bound is the pure
    # core's and the simulation's (tests/unit/test_machine_tracks.py); here a bound a loaded
    # machine cannot break, which a unit that never fails back (or waits twice) does
    assert took >= delay
    assert became - fit <= delay + 2 * pair.heartbeat + 5, became - fit
    # the shared address answers as soon as it is bound; the status follows at once after
    # (a fresh-clone run read it in between: still the boot's transition)
    last = poll(
        lambda: (
            (t := _unit(pair.status(pair.first), "first")["last_transition"])["to"] == "active"
            and t
        ),
        timeout=5,
        what="first's transition to active in its status",
    )
    assert last["cause"] == "preferred-return"
