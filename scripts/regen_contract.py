"""Regenerate the contract artefacts: ``openapi.json`` from the app, then ``sdk/`` from it.

No server is started: the document is rendered from the app's routes. The SDK is generated
from it with one difference (``sdk_view``): the event stream's answer, which the document states
per event (OpenAPI 3.1's form for ``text/event-stream``), is text to the SDK, since
openapi-python-client would parse a whole stream as one event. Run from anywhere:

    python scripts/regen_contract.py            # rewrite openapi.json and sdk/
    python scripts/regen_contract.py --check    # exit 1 if either differs from what is committed
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "openapi.json"
SDK = ROOT / "sdk"
CONFIG = ROOT / "sdk-config.yml"
PINS = {"openapi-python-client": "0.29.1", "ruff": "0.17.6"}
# Generated files only; caches that tools may leave behind are not part of the SDK.
IGNORED = {"__pycache__", ".ruff_cache", ".pytest_cache", "build", "hapair_client.egg-info"}


def check_pins() -> None:
    """The output is deterministic only with the pinned generator and formatter."""
    for dist, pinned in PINS.items():
        found = version(dist)
        if found != pinned:
            raise SystemExit(f"{dist} {found} is installed; the SDK is generated with {pinned}")


def generate_sdk(spec: Path, out: Path) -> None:
    """Run openapi-python-client into ``out`` (fails on any warning)."""
    exe = Path(sys.executable).parent / "openapi-python-client"
    cmd = [
        str(exe) if exe.exists() else "openapi-python-client",
        "generate",
        "--path", str(spec),
        "--config", str(CONFIG),
        "--meta", "setup",
        "--output-path", str(out),
        "--overwrite",
        "--fail-on-warning",
    ]  # fmt: skip
    # ruff (a post hook) must be the pinned one next to this interpreter.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0 or "Warning" in proc.stdout:
        raise SystemExit(f"openapi-python-client failed:\n{proc.stdout}\n{proc.stderr}")


def sdk_view(spec_bytes: bytes) -> bytes:
    """The document the SDK is generated from: each ``text/event-stream`` answer as text (the
    SDK hands the stream to an SSE reader; ``hapair events`` uses httpx-sse)."""
    doc = json.loads(spec_bytes)
    for path_item in doc["paths"].values():
        for op in path_item.values():
            for answer in op.get("responses", {}).values() if isinstance(op, dict) else ():
                stream = answer.get("content", {}).get("text/event-stream")
                if stream is not None:
                    stream["schema"] = {"type": "string"}
    return json.dumps(doc, indent=2).encode()


def diff_trees(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two trees (missing on either side included)."""
    out: list[str] = []

    def walk(cmp: filecmp.dircmp[str], prefix: str) -> None:
        out.extend(prefix + n for n in cmp.left_only + cmp.right_only if n not in IGNORED)
        _, mismatch, errors = filecmp.cmpfiles(cmp.left, cmp.right, cmp.common_files, shallow=False)
        out.extend(prefix + n for n in mismatch + errors)
        for name, sub in cmp.subdirs.items():
            if name not in IGNORED:
                walk(sub, prefix + name + "/")

    walk(filecmp.dircmp(a, b, ignore=list(IGNORED)), "")
    return sorted(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args()
    check_pins()
    sys.path.insert(0, str(ROOT / "service"))
    from hapair.bootstrap import render_openapi

    spec_bytes = render_openapi()
    with tempfile.TemporaryDirectory(prefix="hapair-contract-") as tmp:
        spec = Path(tmp) / "openapi.json"
        spec.write_bytes(sdk_view(spec_bytes))
        out = Path(tmp) / "sdk"
        generate_sdk(spec, out)
        if args.check:
            problems = []
            if not SPEC.exists() or SPEC.read_bytes() != spec_bytes:
                problems.append("openapi.json")
            problems += [f"sdk/{p}" for p in diff_trees(SDK, out)] if SDK.exists() else ["sdk/"]
            if problems:
                print("out of date (run python scripts/regen_contract.py):", *problems, sep="\n  ")
                return 1
            print("openapi.json and sdk/ are up to date")
            return 0
        SPEC.write_bytes(spec_bytes)
        if SDK.exists():
            shutil.rmtree(SDK)
        shutil.copytree(out, SDK, ignore=shutil.ignore_patterns(*IGNORED))
    print(f"wrote {SPEC.relative_to(ROOT)} and {SDK.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
