"""The partner's data goes through signed unit-to-unit calls, never through its Redis (SPEC 6,
"Redis, v3"): the partner's revision, a forced update and the archive of divergent revisions.

Each unit's Redis here shares the pair's replication password (so the standby replicates) but
has an API password of its own: a unit that logged into its partner's Redis with its own
credentials would be refused there, and the server would count the failed login.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import httpx

from hapair.store.embedded import EmbeddedRedis, RedisPasswords
from tests.integration.conftest import MakePair
from tests.integration.test_pair_boot import seed
from tests.support import make_redis, poll, redis_client


def _denied_logins(server: EmbeddedRedis) -> int:
    with redis_client(server) as c:
        return int(c.info("stats")["acl_access_denied_auth"])


def test_partner_data_goes_through_signed_calls(make_pair: MakePair, tmp_path: Path) -> None:
    key = secrets.token_hex(16)
    replication = RedisPasswords.derived(key).replication
    servers = {
        name: make_redis(
            tmp_path / f"redis-{name}",
            passwords=RedisPasswords(api=secrets.token_hex(16), replication=replication),
        )
        for name in ("first", "second")
    }
    try:
        for server in servers.values():
            server.start()
        # a revision only second holds: archived on the active when second joins as standby
        seed(servers["second"].url, [{"initial_wait_time": 33}])
        p = make_pair(redis={k: v.url for k, v in servers.items()}, pair_key=key)
        p.start_both()
        active = httpx.Client(
            base_url=p.first.url, headers={"Authorization": f"Bearer {p.token}"}, timeout=10
        )
        with active:

            def archived() -> list[tuple[str, int]]:
                items = active.get("/api/v1/ha/conflicts").json()["items"]
                return [(c["unit"], c["revision"]) for c in items]

            assert poll(archived, timeout=15, what="the archived revision") == [("second", 1)]
            conflict = active.get("/api/v1/ha/conflicts").json()["items"][0]
            assert conflict["parameters"]["initial_wait_time"] == 33

            # the standby replicates (as the replication user) and acknowledges writes
            p.wait_in_sync(via=p.first)
            resp = p.patch({"ha_timeout": 6})
            assert resp.status_code == 200, resp.text
            assert resp.headers["HA-Partner-Acknowledged"] == "true"
            revision = resp.json()["revision"]

            # the partner's revision, asked of the partner: both in sync
            status = poll(
                lambda: (s := p.status(p.first)) and all(u["in_sync"] for u in s["units"]) and s,
                timeout=10,
                what="both units in sync",
            )
            assert {u["name"]: u["revision"] for u in status["units"]} == {
                "first": revision,
                "second": revision,
            }

            # a forced update: the standby re-points its replica when asked, by a signed call
            forced = p.http.post(f"{p.shared_url}/api/v1/ha/actions/force-partner-update")
            assert forced.status_code == 200, forced.text
            assert forced.json()["partner_revision"] == revision
            assert p.params(p.second)["ha_timeout"] == 6
        # neither unit ever tried its credentials on its partner's Redis
        assert {n: _denied_logins(s) for n, s in servers.items()} == {"first": 0, "second": 0}
    finally:
        for server in servers.values():
            server.stop()
