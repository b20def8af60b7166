"""The shipped alert rules against what two real units exported (issue 20 point 1).

A pair in network namespaces (tests/netns.py PairNetwork) is scraped once a second on both
direct addresses, as Prometheus would (``GET /metrics``, labels ``pair`` and ``instance`` added
by the scrape), through a forced split brain (a partition), its heal and a kill -9 of the
active, with refused tokens sent to the survivor. The samples become the input series of a
``promtool test rules`` file (a unit that stopped answering turns stale, as Prometheus marks
it), and the shipped rules (deploy/prometheus/hapair-rules.yml) are evaluated on them: two
actives fires during the split brain, partner down, not in sync and auth failures after the
kill, and no alert fires while the pair is healthy. A rule naming a series or a label the units
do not export fails this test, which the promtool test file of invented series cannot show.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.netns import PairNetwork, Which, netns_available
from tests.support import HapairFactory, HapairProcess, NsHapairProcess, poll

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(netns_available() is not None, reason=str(netns_available())),
]

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "hapair-rules.yml"
PAIR = "lab"
PORT = 8080
STEP_S = 1.0  # the scrape and evaluation interval
# how long each alert's `for` must have held, plus two scrapes of slack
TWO_ACTIVES_FOR, PARTNER_DOWN_FOR, NOT_IN_SYNC_FOR = 5, 10, 30


def rules() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"]}


def referenced_series() -> set[str]:
    return set(re.findall(r"\bhapair_[a-z_]+\b", RULES.read_text()))


class Scraper:
    """Scrapes each unit's ``/metrics`` every ``STEP_S`` on a thread; ``ticks`` counts them."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls
        self.wanted = referenced_series()
        self.samples: dict[tuple[str, tuple[tuple[str, str], ...]], dict[int, float]] = {}
        self.ticks = 0
        self.failed: dict[str, list[int]] = {name: [] for name in urls}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scraper", daemon=True)

    def __enter__(self) -> Scraper:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        # a slow answer stretches the ticks, never drops a sample: the rules' `for` counts ticks
        with httpx.Client(timeout=5) as client:
            next_at = time.monotonic()
            while not self._stop.is_set():
                tick = self.ticks
                for instance, url in self.urls.items():
                    try:
                        text = client.get(f"{url}/metrics").text
                    except httpx.HTTPError:
                        self.failed[instance].append(tick)
                        continue
                    self._record(tick, instance, text)
                self.ticks = tick + 1
                next_at += STEP_S
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def _record(self, tick: int, instance: str, text: str) -> None:
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name in self.wanted:
                    labels = {**s.labels, "pair": PAIR, "instance": instance}
                    key = (s.name, tuple(sorted(labels.items())))
                    self.samples.setdefault(key, {})[tick] = s.value

    def input_series(self, ticks: int) -> list[dict[str, str]]:
        """promtool's input series: a missing scrape after a sample is ``stale``, as
        Prometheus marks a target that stopped answering; before any sample, ``_``."""
        out = []
        for (name, labels), values in sorted(self.samples.items()):
            seq, seen = [], False
            for t in range(ticks):
                if t in values:
                    seq.append(repr(values[t]) if values[t] == values[t] else "NaN")
                    seen = True
                elif seen and seq[-1] != "stale" and seq[-1] != "_":
                    seq.append("stale")
                else:
                    seq.append("_")
            body = ",".join(f'{k}="{v}"' for k, v in labels)
            out.append({"series": f"{name}{{{body}}}", "values": " ".join(seq)})
        return out


def expected(alert: str, **labels: str) -> dict[str, Any]:
    """An alert as promtool shows it: its labels and the rule's annotations rendered."""
    rule = rules()[alert]
    every = {**labels, **rule.get("labels", {})}

    def render(text: str) -> str:
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)

    return {
        "exp_labels": every,
        "exp_annotations": {k: render(v) for k, v in rule.get("annotations", {}).items()},
    }


def _unit(net: PairNetwork, tmp: Path, which: Which, token: str, key: str) -> NsHapairProcess:
    name, other = ("first", "b") if which == "a" else ("second", "a")
    return NsHapairProcess(
        net.ns_prefix(which),
        [
            "--listen", f"{net.addr(which)}:{PORT}", "--data-dir", str(tmp / name),
            "--mode", name, "--partner", f"{net.addr(other)}:{PORT}",
            "--shared", f"{net.shared_ip}:{PORT}", "--pair-key", key, "--admin-token", token,
            "--heartbeat-interval", "0.5",
        ],
        log_path=tmp / f"{name}.log",
    )  # fmt: skip


def test_shipped_alerts_fire_on_what_real_units_export(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: run .ci/prometheus-deps.sh"
    token, key = "adm-" + secrets.token_hex(6), secrets.token_hex(8)
    with PairNetwork() as net:
        procs: dict[str, HapairProcess] = {}
        for which in ("a", "b"):
            proc = _unit(net, tmp_path, which, token, key)
            hapair_factory.processes.append(proc)  # stopped by pid at teardown
            procs["first" if which == "a" else "second"] = proc
        url = {"first": f"http://{net.addr_a}:{PORT}", "second": f"http://{net.addr_b}:{PORT}"}
        headers = {"Authorization": f"Bearer {token}", "Connection": "close"}

        def role(name: str) -> str | None:
            try:
                units = httpx.get(f"{url[name]}/api/v1/ha/status", headers=headers, timeout=2)
                return next(u["role"] for u in units.json()["units"] if u["name"] == name)
            except (httpx.HTTPError, KeyError, StopIteration):
                return None

        procs["first"].start().wait_ready(url["first"], timeout=60)
        poll(lambda: role("first") == "active", timeout=30, what="first active")
        procs["second"].start().wait_ready(url["second"], timeout=60)
        poll(lambda: role("second") == "standby", timeout=30, what="second standby")
        with Scraper(url) as scraper:
            poll(lambda: scraper.ticks >= 4, timeout=30, what="healthy scrapes")
            healthy = scraper.ticks - 1
            net.partition()
            poll(lambda: role("second") == "active" and role("first") == "active",
                 timeout=60, what="both active (split brain)")  # fmt: skip
            both = scraper.ticks
            poll(lambda: scraper.ticks >= both + TWO_ACTIVES_FOR + 4, timeout=60)
            split_seen = scraper.ticks - 1
            net.heal()
            actives = poll(
                lambda: (
                    [n for n in url if role(n) == "active"]
                    if sorted(role(n) or "" for n in url) == ["active", "standby"]
                    else None
                ),
                timeout=60,
                what="the split brain resolved",
            )
            [active] = actives
            survivor = next(n for n in url if n != active)
            procs[active].kill9()
            poll(lambda: role(survivor) == "active", timeout=60, what=f"{survivor} takes over")
            for _ in range(12):  # refused tokens (401 unauthorized), over the auth alert's 10
                bad = {"Authorization": "Bearer not-a-token"}
                assert httpx.get(f"{url[survivor]}/api/v1/unit", headers=bad).status_code == 401
            killed = scraper.ticks
            poll(lambda: scraper.ticks >= killed + NOT_IN_SYNC_FOR + 4, timeout=120)
            end = scraper.ticks - 1
        series = scraper.input_series(end + 1)
    assert scraper.failed[survivor] == [], scraper.failed  # the survivor answered every scrape
    assert any(s["series"].startswith("hapair_serving_shared{") for s in series), series

    def at(tick: int, alert: str, *alerts: dict[str, Any]) -> dict[str, Any]:
        return {"eval_time": f"{tick}s", "alertname": alert, "exp_alerts": list(alerts)}

    tests = {
        "rule_files": [str(RULES)],
        "evaluation_interval": f"{int(STEP_S)}s",
        "tests": [
            {
                "interval": f"{int(STEP_S)}s",
                "input_series": series,
                "alert_rule_test": [
                    *(at(healthy, name) for name in rules()),
                    at(split_seen, "HapairTwoActiveUnits", expected("HapairTwoActiveUnits",
                                                                     pair=PAIR)),
                    at(end, "HapairTwoActiveUnits"),
                    at(end, "HapairNoActiveUnit"),
                    at(end, "HapairPartnerDown", expected("HapairPartnerDown", pair=PAIR,
                                                          instance=survivor)),
                    at(end, "HapairNotInSync", expected("HapairNotInSync", pair=PAIR)),
                    at(end, "HapairAuthFailures", expected("HapairAuthFailures", pair=PAIR,
                                                           instance=survivor)),
                ],
            }
        ],
    }  # fmt: skip
    test_file = tmp_path / "live.test.yml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
    run = subprocess.run(
        [promtool, "test", "rules", str(test_file)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert run.returncode == 0, f"{run.stdout}{run.stderr}\n(input: {test_file})"
