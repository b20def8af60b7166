"""The release's identity agrees everywhere it is written: the package, the distribution, the
SDK's version, the changelog's newest entry (with its protocol), the OpenAPI document."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from hapair.domain.version import PROTOCOL, VERSION

ROOT = Path(__file__).resolve().parents[2]


def test_every_place_names_the_same_version() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == VERSION
    sdk = re.search(
        r"^package_version_override: (\S+)$", (ROOT / "sdk-config.yml").read_text(), re.M
    )
    assert sdk is not None and sdk.group(1) == VERSION
    assert f'version="{VERSION}"' in (ROOT / "sdk" / "setup.py").read_text()
    assert json.loads((ROOT / "openapi.json").read_text())["info"]["version"] == VERSION


def test_the_changelog_leads_with_this_version_and_its_protocol() -> None:
    heads = re.findall(r"^## (\S+) \(protocol (\d+)\)$", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert heads, "CHANGELOG.md has no '## VERSION (protocol N)' entry"
    assert heads[0] == (VERSION, str(PROTOCOL))
    # newest first, each release's protocol no lower than the one before it
    protocols = [int(p) for _, p in heads]
    assert protocols == sorted(protocols, reverse=True)
