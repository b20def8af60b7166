"""Schemathesis against real ``hapair serve`` processes: every operation, all checks, 0 failures.

Two runs, because one process cannot show every operation at its best:

- an HA unit alone (active, on its shared address) for the pair-wide resources: every
  operation except ``patch_unit``, ``reboot_unit`` and ``set_maintenance``, whose effects (a
  reboot, or a forced maintenance, drops the shared address until the unit is active again)
  would turn the rest of that run into connection errors (maintenance is tested directly in
  tests/integration/test_switchover.py);
- a non-HA unit on its direct address for every operation, ``patch_unit`` and ``reboot_unit``
  included (pair-wide resources answer the documented 409 ha-disabled there).

Phases examples, coverage, fuzzing and stateful; ``--checks all`` plus the custom check in
``hooks.py``. Hooks and the per-operation expectations are in ``hooks.py`` and
``schemathesis.toml`` (each says why). ``HAPAIR_FUZZ_EXAMPLES`` sets the examples per operation
(CI default below); the README gives the long-run command.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hapair.store.embedded import free_port
from tests.support import HapairFactory

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "fuzz" / "schemathesis.toml"
TOKEN = "fuzz-admin-0123456789abcdef"
EXAMPLES = os.environ.get("HAPAIR_FUZZ_EXAMPLES", "25")
SEED = os.environ.get("HAPAIR_FUZZ_SEED", "20261125")
# Seconds per schemathesis run (a long run raises it along with HAPAIR_FUZZ_EXAMPLES).
RUN_TIMEOUT = int(os.environ.get("HAPAIR_FUZZ_TIMEOUT", "240"))
# Reboots in the fuzz run count as boots: keep the unit from being pacified by them.
ENV = {"HAPAIR_PACIFY_MAX_BOOTS": "1000000"}


def _schemathesis(base: str, *extra: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "schemathesis"
    cmd = [
        str(exe),
        "--config-file", str(CONFIG),
        "run", f"{base}/openapi.json",
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", EXAMPLES,
        "--seed", SEED,
        "--header", f"Authorization: Bearer {TOKEN}",
        "--no-color",
        "--report", "junit",
        "--report-dir", str(ROOT / "tests" / "artifacts" / "fuzz"),
        *extra,
    ]  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HAPAIR_FUZZ_URL": base,
        "HAPAIR_FUZZ_TOKEN": TOKEN,
        "HAPAIR_FUZZ_PARTNER": f"127.0.0.12:{free_port('127.0.0.12')}",
        "HAPAIR_FUZZ_SHARED": f"127.0.0.10:{free_port('127.0.0.10')}",
    }
    return subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )


def _assert_clean(proc: subprocess.CompletedProcess[str]) -> None:
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-20000:]
    assert "0 failures" in out or "passed" in out, out[-5000:]


@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_fuzz_ha_unit_on_shared_address_has_no_failures(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    port = free_port("127.0.0.11")
    shared = f"127.0.0.10:{free_port('127.0.0.10')}"
    unit = hapair_factory(
        [
            "--listen",
            f"127.0.0.11:{port}",
            "--data-dir",
            str(tmp_path / "ha"),
            "--mode",
            "first",
            "--partner",
            f"127.0.0.12:{free_port('127.0.0.12')}",
            "--shared",
            shared,
            "--pair-key",
            "fuzz-pair-key-0123456789",
            "--admin-token",
            TOKEN,
        ],
        env=ENV,
    )
    unit.wait_ready(f"http://{shared}", timeout=15)
    proc = _schemathesis(
        f"http://{shared}",
        "--exclude-operation-id", "reboot_unit",
        "--exclude-operation-id", "patch_unit",
        "--exclude-operation-id", "set_maintenance",
    )  # fmt: skip
    _assert_clean(proc)
    assert "unhandled error" not in unit.log_text(), unit.log_tail()


@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_fuzz_non_ha_unit_every_operation_has_no_failures(
    hapair_factory: HapairFactory, tmp_path: Path
) -> None:
    port = free_port("127.0.0.11")
    unit = hapair_factory(
        [
            "--listen",
            f"127.0.0.11:{port}",
            "--data-dir",
            str(tmp_path / "standalone"),
            # with a pair key, PATCH /unit may stage an HA mode (it is refused without one)
            "--pair-key",
            "fuzz-pair-key-0123456789",
            "--admin-token",
            TOKEN,
        ],
        env=ENV,
    )
    unit.wait_ready(f"http://127.0.0.11:{port}", timeout=15)
    proc = _schemathesis(f"http://127.0.0.11:{port}")
    _assert_clean(proc)
