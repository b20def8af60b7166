"""The docs agree with the code: every ``#anchor`` link resolves, and both error tables list
exactly the problem slugs hapair answers with (api/problems.py, server/limits.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hapair.api.problems import SLUGS

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Answered by the listener before the app (server/limits.py), so not in api/problems.py.
LISTENER_SLUGS = {"too-many-connections", "method-not-allowed"}


def slug_of(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    counts: dict[str, int] = {}
    in_code = False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        base = slug_of(line.lstrip("#"))
        n = counts.get(base, 0)
        counts[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_anchor_link_resolves(path: Path) -> None:
    broken = []
    for target, anchor in re.findall(r"\]\(([^)#\s]*)#([^)\s]+)\)", path.read_text()):
        file = (path.parent / target).resolve() if target else path
        if file.suffix != ".md" or not file.exists():
            broken.append(f"{target}#{anchor} (no such file)")
        elif anchor not in anchors(file):
            broken.append(f"{target}#{anchor}")
    assert broken == [], f"{path.name}: broken anchors {broken}"


def table_slugs(path: Path) -> set[str]:
    text = path.read_text()
    start = text.index("| slug | status | when |")
    rows = text[start:].split("\n\n", 1)[0].splitlines()[2:]
    return {s for row in rows for s in re.findall(r"`([a-z-]+)`", row.split("|")[1])}


@pytest.mark.parametrize("path", [ROOT / "README.md", ROOT / "docs" / "api.md"], ids=str)
def test_error_table_lists_every_slug(path: Path) -> None:
    assert table_slugs(path) == set(SLUGS) | LISTENER_SLUGS
