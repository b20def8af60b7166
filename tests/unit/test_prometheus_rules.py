"""The shipped alert rules and Grafana dashboard: promtool checks and tests the rules, and both
reference only series a unit exposes.

promtool comes from Debian's prometheus package, unpacked by .ci/prometheus-deps.sh.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from hapair.metrics import Metrics, PairSample

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "hapair-rules.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "hapair-rules.test.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "hapair-dashboard.json"
DOCS = ROOT / "docs" / "metrics.md"
ALERTS = {
    "HapairNoActiveUnit", "HapairTwoActiveUnits", "HapairNotInSync", "HapairPacified",
    "HapairPartnerDown", "HapairTrackFailed", "HapairVersionSkew", "HapairAuthFailures",
}  # fmt: skip


def promtool() -> str:
    found = shutil.which("promtool")
    assert found, "promtool is missing: run .ci/prometheus-deps.sh (Debian's prometheus package)"
    return found


def exposed_series() -> set[str]:
    """Every series name a unit can expose, every family set once (an HA unit)."""
    metrics = Metrics(causes=("failover",), reasons=("unauthorized",))
    metrics.set_role("active")
    metrics.role_changed("active", "failover")
    metrics.set_track_ok("gateway", True)
    metrics.set_parameter_applied("use_virtual_mac", "applied")
    metrics.requests.labels("/healthz", "GET", "200").inc()
    metrics.latency.labels("/healthz").observe(0.001)

    async def sample() -> PairSample:
        return PairSample(
            ha=True, partner_up=True, partner_heartbeat_age_s=0.5, in_sync=True,
            serving_shared=True, pair_state="paired", store_up=True, maintenance=False,
            conflicts=0,
        )  # fmt: skip

    metrics.sampler = sample
    asyncio.run(metrics.collect())
    text = metrics.render().decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}


def referenced(text: str) -> set[str]:
    return set(re.findall(r"\bhapair_[a-z_]+\b", text))


def test_rules_pass_promtool_check_and_their_tests() -> None:
    tool = promtool()
    check = subprocess.run(
        [tool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    run = subprocess.run(
        [tool, "test", "rules", RULE_TESTS.name],
        cwd=RULE_TESTS.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_listed_alert_is_shipped_and_tested() -> None:
    rules = yaml.safe_load(RULES.read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    assert names == ALERTS
    tests = yaml.safe_load(RULE_TESTS.read_text())
    fired = {
        case["alertname"]
        for t in tests["tests"]
        for case in t.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert fired == ALERTS


def test_rules_and_dashboard_reference_only_exposed_series() -> None:
    exposed = exposed_series()
    assert referenced(RULES.read_text()) - exposed == set()
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert exprs
    used = referenced("\n".join(exprs))
    assert used - exposed == set()
    # the dashboard shows the pair's state, roles and partner at least
    assert {"hapair_serving_shared", "hapair_role", "hapair_partner_up"} <= used


def test_docs_give_one_line_per_family() -> None:
    families = {name.removesuffix("_total") for name in exposed_series()}
    families = {re.sub(r"_(bucket|count|sum)$", "", n) for n in families}
    lines = [line for line in DOCS.read_text().splitlines() if line.startswith("| `hapair_")]
    documented = {re.match(r"\| `(hapair_[a-z_]+)", line).group(1) for line in lines}  # type: ignore[union-attr]
    documented = {name.removesuffix("_total") for name in documented}
    assert documented == families
    assert len(lines) == len(documented)
