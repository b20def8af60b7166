"""Backup bundles: the checksum's canonical form, the version rule and the token plan (pure)."""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from hapair.domain import backup as db
from hapair.domain.errors import ValidationFailed
from hapair.domain.parameters import HAParameters


def _token(token_id: str, digest_of: str) -> db.BundleToken:
    return db.BundleToken(
        id=token_id,
        role="viewer",
        description=None,
        created_at="2026-01-01T00:00:00.000Z",
        expires_at=None,
        digest=hashlib.sha256(digest_of.encode()).hexdigest(),
    )


def _bundle(**params: object) -> dict[str, object]:
    bundle = db.make_bundle(
        version="0.4.1",
        exported_at="2026-01-01T00:00:00.000Z",
        revision=3,
        params=HAParameters(**params),  # type: ignore[arg-type]
        tokens=[_token("a1", "one")],
    )
    out: dict[str, object] = msgspec.to_builtins(bundle)
    return out


def test_checksum_is_sha256_of_sorted_compact_utf8_json() -> None:
    members = {"b": [1, None, True], "a": {"y": "é", "x": 2}, "checksum": "ignored"}
    text = '{"a":{"x":2,"y":"é"},"b":[1,null,true]}'
    assert db.checksum(members) == hashlib.sha256(text.encode()).hexdigest()


def test_a_bundle_checks_and_keeps_an_auto_virtual_id_auto() -> None:
    bundle = _bundle(ha_timeout=6)
    assert bundle["parameters"]["virtual_id"] is None  # type: ignore[index]
    restored = db.check_bundle(bundle, "0.4.0")
    assert restored.params == HAParameters(ha_timeout=6)
    assert [t.id for t in restored.tokens] == ["a1"]


@pytest.mark.parametrize(
    ("theirs", "ours", "ok"),
    [
        ("0.4.1", "0.4.0", True),
        ("0.5.0", "0.4.9", True),
        ("0.3.0", "0.4.0", True),
        ("0.6.0", "0.4.0", False),
        ("1.4.0", "0.4.0", False),
        ("0.4", "0.4.0", True),
        ("0.4.0rc1", "0.4.0", True),
        ("four", "0.4.0", False),
        ("0.4.0\n", "0.4.0", False),
    ],
)
def test_versions_at_most_one_minor_apart_are_compatible(theirs: str, ours: str, ok: bool) -> None:
    assert db.compatible(theirs, ours) is ok


def test_a_changed_member_fails_the_checksum() -> None:
    bundle = _bundle()
    bundle["revision"] = 4
    with pytest.raises(ValidationFailed) as caught:
        db.check_bundle(bundle, "0.4.0")
    assert [e.pointer for e in caught.value.errors] == ["/checksum"]


def test_token_plan_makes_the_set_the_bundles_and_keeps_revocations() -> None:
    keep, new, revoked, gone = (
        _token("k", "keep"),
        _token("n", "new"),
        _token("r", "revoked"),
        _token("g", "gone"),
    )
    current = {keep.digest: "k", gone.digest: "g"}
    plan = db.plan_tokens([keep, new, revoked], current, {revoked.digest: "r"})
    assert plan.changes == db.TokenChanges(added=["n"], removed=["g"], revoked=["r"])
    assert [t.id for t in plan.write] == ["k", "n"]
    assert plan.delete == [gone.digest]
    # a revoked id stays revoked under another digest too
    again = db.plan_tokens([_token("r", "other")], {}, {revoked.digest: "r"})
    assert again.changes.revoked == ["r"]
    assert again.write == []
