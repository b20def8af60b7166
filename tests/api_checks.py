"""What the API tests of a lone unit share, in-process or against a process: the paths, the
defaults, the checks of a problem and of an unchanged revision, the CLI calls they make."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import msgspec

from hapair.domain.parameters import HAParameters

PARAMS = "/api/v1/ha/parameters"
TOKENS = "/api/v1/tokens"
MERGE_PATCH = "application/merge-patch+json"
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$")

# Bearer tokens no unit knows (the second one character off the tests' admin token).
BAD_TOKENS = ["not-a-real-token-5f1d2c", "it-admin-0123456789abcdefABCDEx"]

# The defaults the API shows for the 13 stored fields with a fixed default (virtual_id's
# effective value is computed from the shared address): from the domain struct, never restated.
DEFAULTS: dict[str, Any] = {
    name: value
    for name, value in msgspec.structs.asdict(HAParameters()).items()
    if name != "virtual_id"
}


def revision_of(client: httpx.Client) -> int:
    """The current revision, read from the ETag of ``GET /ha/parameters``."""
    r = client.get(PARAMS)
    assert r.status_code == 200, r.text
    etag = r.headers["etag"]
    assert etag == f'"{r.json()["revision"]}"'
    return int(etag.strip('"'))


def assert_unchanged(client: httpx.Client, revision: int) -> None:
    """Asserts the parameters are still at ``revision``: a refused request stored nothing."""
    assert revision_of(client) == revision, "a refused request must not change the parameters"


def reset_parameters(client: httpx.Client) -> dict[str, Any]:
    """PUT ``{}``: every field back to its default (a new revision unless already there)."""
    r = client.put(PARAMS, json={})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def commit_threshold(client: httpx.Client, n: int) -> int:
    """PATCH ``l4_sync_threshold`` to ``n`` (a merge patch); the revision it committed."""
    r = client.patch(PARAMS, json={"l4_sync_threshold": n}, headers={"Content-Type": MERGE_PATCH})
    assert r.status_code == 200, r.text
    return int(r.json()["revision"])


def canonical_checksum(bundle: dict[str, Any]) -> str:
    """A backup bundle's checksum as docs/api.md defines it, computed independently of the
    server."""
    rest = {k: v for k, v in bundle.items() if k != "checksum"}
    text = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """Asserts ``r`` is an RFC 9457 problem of that status and slug; returns its body."""
    assert r.status_code == status, f"{r.status_code} {r.text}"
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body: dict[str, Any] = r.json()
    assert body["type"] == f"urn:hapair:problem:{slug}", body
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def log_events(proc: Any) -> list[dict[str, Any]]:
    """The unit's log as parsed JSON lines (every non-empty line must be JSON)."""
    events = []
    for line in proc.log_text().splitlines():
        if line.strip():
            events.append(json.loads(line))
    return events


def run_serve(
    args: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``hapair serve ARGS`` run to its end (a start that must fail), output captured."""
    return subprocess.run(
        [sys.executable, "-m", "hapair", "serve", *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, **(env or {})},
    )


def create_token(data_dir: Path, role: str) -> str:
    """``hapair token create --role ROLE --data-dir DIR`` against the running unit."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hapair",
            "token",
            "create",
            "--role",
            role,
            "--data-dir",
            str(data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip()
    assert token, out.stderr
    return token
