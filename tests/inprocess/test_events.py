"""``GET /api/v1/ha/events`` (SPEC 5a) with a real SSE client (httpx-sse) against real processes:
what a client receives, resuming, filters, answers, keep-alives, stopping, ``hapair events``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_checks import (
    commit_threshold,
    problem,
)
from tests.inprocess.runner import InProcessFactory, RedisDatabases, start_lone_unit
from tests.integration.sse import EVENTS, Follower
from tests.units import (
    ADMIN_TOKEN,
    Unit,
)

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# The stream the unit keeps (HAPAIR_EVENTS_KEEP): each PATCH adds two events, its `audit` and its
# `revision`, so KEEP // 2 revisions are kept.
KEEP = 20


@pytest.fixture
def unit(
    unit_factory: InProcessFactory, redis_databases: RedisDatabases, tmp_path: Path
) -> Iterator[Unit]:
    u = start_lone_unit(
        unit_factory,
        redis_databases,
        tmp_path / "unit",
        env={"HAPAIR_EVENTS_KEEPALIVE_S": "0.3", "HAPAIR_EVENTS_KEEP": str(KEEP)},
    )
    try:
        yield u
    finally:
        u.close_clients()


def test_events_revision_reaches_client_with_id_type_and_data(unit: Unit) -> None:
    c = unit.client()
    f = Follower(unit.direct)
    try:
        rev = commit_threshold(c, 5)
        f.wait_revisions([rev])
        ev = f.events[-1]
        assert ev.event == "revision"
        assert ev.id and "-" in ev.id
        data = json.loads(ev.data)
        assert data["actor"] == "bootstrap-admin"
        assert data["changes"] == {"l4_sync_threshold": [3, 5]}
        assert data["at"].endswith("Z") and "T" in data["at"]
    finally:
        f.close()


def test_events_resume_gives_no_gap_and_no_duplicate(unit: Unit) -> None:
    c = unit.client()
    f = Follower(unit.direct)
    try:
        revs = [commit_threshold(c, n) for n in (4, 5, 6)]
        f.wait_revisions(revs)
    finally:
        f.close()
    ids = [e.id for e in f.events if e.event == "revision"]
    # ids increase
    keys = [tuple(int(p) for p in (i or "").split("-")) for i in ids]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    missed = [commit_threshold(c, n) for n in (7, 8)]  # while nobody is connected
    for how in ("header", "query"):
        g = (
            Follower(unit.direct, last_id=ids[0])
            if how == "header"
            else Follower(unit.direct, params={"since": str(ids[0])})
        )
        try:
            live = commit_threshold(c, 9 if how == "header" else 10)
            expected = [*revs[1:], *missed, *([live] if how == "header" else [live - 1, live])]
            g.wait_revisions(expected)
            assert g.revisions() == expected, how  # nothing twice, nothing missing
            assert not g.of("reset")
        finally:
            g.close()


def test_events_reset_when_id_is_older_than_kept(unit: Unit) -> None:
    c = unit.client()
    f = Follower(unit.direct)
    try:
        first = commit_threshold(c, 4)
        f.wait_revisions([first])
    finally:
        f.close()
    old_id = f.events[-1].id
    revs = [
        commit_threshold(c, n) for n in range(5, 5 + KEEP)
    ]  # 2 x KEEP events: the first is trimmed
    kept = revs[-(KEEP // 2) :]
    g = Follower(unit.direct, last_id=old_id)
    try:
        g.wait_revisions(kept)
        assert g.events[0].event == "reset"
        reset = json.loads(g.events[0].data)
        assert reset["oldest"] == g.events[1].id
        assert g.revisions() == kept
    finally:
        g.close()


def test_events_types_filter_and_bad_input_are_problems(unit: Unit) -> None:
    c = unit.client()
    only_role = Follower(unit.direct, params={"types": "role,pair"})
    both = Follower(unit.direct, params={"types": "revision"})
    try:
        rev = commit_threshold(c, 4)
        both.wait_revisions([rev])
        assert not only_role.of("revision")
    finally:
        only_role.close()
        both.close()
    d = unit.client(shared=False)
    problem(d.get(EVENTS, params={"types": "revision,bogus"}), 400, "malformed")
    problem(d.get(EVENTS, params={"types": ""}), 400, "malformed")
    problem(d.get(EVENTS, params={"since": "yesterday"}), 400, "malformed")
    problem(d.get(EVENTS, params={"since": "1-2-3"}), 400, "malformed")
    problem(d.get(EVENTS, headers={"Last-Event-ID": "abc"}), 400, "malformed")
    problem(d.get(EVENTS, params={"since": "9" * 30}), 400, "malformed")
    problem(unit.client(token=None).get(EVENTS), 401, "unauthorized")


def test_events_viewer_token_on_direct_address(unit: Unit, tmp_path: Path) -> None:
    from tests.api_checks import create_token

    viewer = create_token(unit.data_dir, "viewer")
    f = Follower(unit.direct, token=viewer)
    try:
        rev = commit_threshold(unit.client(), 4)
        f.wait_revisions([rev])
    finally:
        f.close()


def test_events_non_ha_unit_answers_ha_disabled(
    unit_factory: InProcessFactory, redis_databases: RedisDatabases, tmp_path: Path
) -> None:
    u = start_lone_unit(unit_factory, redis_databases, tmp_path / "solo", ha=False)
    try:
        problem(u.client().get(EVENTS), 409, "ha-disabled")
    finally:
        u.close_clients()


def test_events_keepalive_comment_arrives(unit: Unit) -> None:
    assert unit.shared is not None
    with (
        httpx.Client(timeout=5) as client,
        client.stream("GET", f"{unit.shared}{EVENTS}", headers=AUTH) as resp,
    ):
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        start = time.monotonic()
        for raw in resp.iter_lines():
            if raw == ": keepalive":
                break
        # HAPAIR_EVENTS_KEEPALIVE_S=0.3 here; 15 s by default
        assert time.monotonic() - start < 3


def test_hapair_events_json_prints_events(unit: Unit) -> None:
    rev = commit_threshold(unit.client(), 4)
    cmd = [sys.executable, "-m", "hapair", "events", "--url", unit.direct]
    cmd += ["--token", ADMIN_TOKEN, "--since", "0-0", "--json"]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[dict[str, Any]] = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            got = json.loads(proc.stdout.readline())
            lines.append(got)
            if got["event"] == "revision" and got["data"]["revision"] == rev:
                break
        assert lines[-1]["data"]["revision"] == rev, lines
        assert lines[-1]["id"]
    finally:
        proc.terminate()  # by pid
        proc.wait(10)
        assert proc.stdout is not None
        proc.stdout.close()


def test_events_since_zero_on_an_untrimmed_stream_gives_every_event_and_no_reset(
    unit: Unit,
) -> None:
    c = unit.client()
    first = commit_threshold(c, 4)
    g = Follower(unit.direct, params={"since": "0-0"})
    try:
        g.wait_revisions([first])
        assert not g.of("reset"), "nothing was trimmed: nothing to re-read"
        assert g.of("role"), "the unit's own boot is in the stream"
    finally:
        g.close()
