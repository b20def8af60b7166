"""Backup bundles (``GET /ha/export``, ``POST /ha/import``): their form, checksum and checks.

A bundle (format 1) is one JSON object::

    {"format": 1, "hapair_version": "0.2.0", "exported_at": "...Z", "revision": 12,
     "parameters": {<every stored parameter; virtual_id null when it is auto>},
     "tokens": [{"id", "role", "description", "created_at", "expires_at", "digest"}, ...],
     "checksum": "<64 hex>"}

``checksum`` is the SHA-256 (lowercase hex) of the canonical JSON of every other member: keys
sorted at every level, no insignificant whitespace, UTF-8 with non-ASCII characters as they are
(Python: ``json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``). A
bundle holds strings, integers, booleans and nulls only, so this is also its RFC 8785 (JCS) form.
The checksum finds a damaged or hand-edited bundle; it is not a signature (anyone can recompute
it).

Pure: no clock (the time arrives as an argument), no store, no HTTP.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from hapair.domain import parameters as dp
from hapair.domain.errors import FieldError, ValidationFailed
from hapair.domain.tokens import MAX_DESCRIPTION, TOKEN_ROLES, TokenRole

FORMAT = 1
MEMBERS = (
    "format",
    "hapair_version",
    "exported_at",
    "revision",
    "parameters",
    "tokens",
    "checksum",
)
TOKEN_MEMBERS = ("id", "role", "description", "created_at", "expires_at", "digest")
TOKEN_ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"  # noqa: S105 - a pattern, not a secret
DIGEST_PATTERN = r"^[0-9a-f]{64}$"
CHECKSUM_PATTERN = DIGEST_PATTERN
_Time = Annotated[datetime, Meta(tz=True)]
# An RFC 3339 time with its offset, kept as the text it was written as (the checksum covers it).
Timestamp = Annotated[str, Meta(extra_json_schema={"format": "date-time"})]
_VERSION = re.compile(r"^([0-9]+)\.([0-9]+)(?:\.[0-9]+)?(?:[-+.][0-9A-Za-z.+-]*)?$")


class BundleToken(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An API token as a bundle carries it: its metadata and the SHA-256 digest it is looked up
    by (never the token itself, which the pair does not hold)."""

    id: Annotated[str, Meta(pattern=TOKEN_ID_PATTERN)]
    role: TokenRole
    description: Annotated[str, Meta(max_length=MAX_DESCRIPTION)] | None
    created_at: Timestamp
    expires_at: Timestamp | None
    digest: Annotated[str, Meta(pattern=DIGEST_PATTERN)]


class Bundle(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A backup of the pair: the HA parameters as written and the API tokens (format 1).

    ``checksum`` is the SHA-256 of the canonical JSON of the other members (docs/api.md,
    "Backup and restore").
    """

    format: Annotated[int, Meta(ge=FORMAT, le=FORMAT)]
    hapair_version: Annotated[str, Meta(pattern=_VERSION.pattern)]
    exported_at: Timestamp
    revision: Annotated[int, Meta(ge=0)]
    parameters: dp.HAParameters
    tokens: list[BundleToken]
    checksum: Annotated[str, Meta(pattern=CHECKSUM_PATTERN)]


class TokenChanges(msgspec.Struct, kw_only=True):
    """Token ids an import adds and removes; ``revoked``: ids of the bundle that were revoked on
    this pair and stay revoked (a revocation is never undone)."""

    added: list[str]
    removed: list[str]
    revoked: list[str]


class ImportResult(msgspec.Struct, kw_only=True):
    """What an import changes (or would change, in a dry run): ``changes`` is
    ``{field: [now, bundle]}``; ``revision`` the revision after it (unchanged when no parameter
    changes)."""

    changes: dict[str, list[Any]]
    tokens: TokenChanges
    revision: int
    dry_run: bool


@dataclass(frozen=True)
class Restored:
    """A bundle that passed every check: what an import makes of the pair."""

    params: dp.HAParameters
    tokens: list[BundleToken]


def canonical(value: Any) -> bytes:
    """The canonical JSON of a bundle's members (see the module docstring)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def checksum(members: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of ``members`` without ``checksum``."""
    rest = {k: v for k, v in members.items() if k != "checksum"}
    return hashlib.sha256(canonical(rest)).hexdigest()


def make_bundle(
    *,
    version: str,
    exported_at: str,
    revision: int,
    params: dp.HAParameters,
    tokens: list[BundleToken],
) -> Bundle:
    """The bundle of a pair, its checksum computed over the JSON it is answered as."""
    members: dict[str, Any] = {
        "format": FORMAT,
        "hapair_version": version,
        "exported_at": exported_at,
        "revision": revision,
        "parameters": dp.to_dict(params),  # the stored form: virtual_id null when auto
        "tokens": [msgspec.structs.asdict(t) for t in tokens],
    }
    return Bundle(
        format=FORMAT,
        hapair_version=version,
        exported_at=exported_at,
        revision=revision,
        parameters=params,
        tokens=list(tokens),
        checksum=checksum(members),
    )


def minor_of(version: str) -> tuple[int, int] | None:
    """(major, minor) of a version such as ``0.2.0`` or ``1.4.0rc1``; None when unparsable."""
    found = _VERSION.fullmatch(version)
    return (int(found.group(1)), int(found.group(2))) if found else None


def compatible(bundle_version: str, own_version: str) -> bool:
    """Whether a bundle of ``bundle_version`` may be imported by ``own_version``: the same major
    version and at most one minor version apart."""
    theirs, ours = minor_of(bundle_version), minor_of(own_version)
    if theirs is None or ours is None:
        return False
    return theirs[0] == ours[0] and abs(theirs[1] - ours[1]) <= 1


def _time(value: object) -> datetime | None:
    try:
        return msgspec.convert(value, _Time)
    except msgspec.ValidationError:
        return None


def _rfc3339(value: object) -> bool:
    return _time(value) is not None


def unix_of(timestamp: str) -> float:
    """The Unix time of an RFC 3339 timestamp (checked by :func:`check_bundle`)."""
    found = _time(timestamp)
    assert found is not None, "checked by check_bundle"
    return found.timestamp()


def _token(raw: object, at: str, errors: list[FieldError]) -> BundleToken | None:
    if not isinstance(raw, dict):
        errors.append(FieldError(at, "a token must be a JSON object"))
        return None
    before = len(errors)
    errors += [
        FieldError(f"{at}/{k}", f"unknown field '{k}'") for k in raw if k not in TOKEN_MEMBERS
    ]
    errors += [FieldError(f"{at}/{k}", f"{k} is required") for k in TOKEN_MEMBERS if k not in raw]
    if len(errors) > before:
        return None
    token_id, role, description = raw["id"], raw["role"], raw["description"]
    created, expires, digest = raw["created_at"], raw["expires_at"], raw["digest"]
    if not isinstance(token_id, str) or not re.fullmatch(TOKEN_ID_PATTERN, token_id):
        errors.append(FieldError(f"{at}/id", "id must be 1 to 64 of A-Z a-z 0-9 _ . -"))
    if role not in TOKEN_ROLES:
        errors.append(FieldError(f"{at}/role", f"role must be 'viewer' or 'admin', got {role!r}"))
    if description is not None and (
        not isinstance(description, str) or len(description) > MAX_DESCRIPTION
    ):
        errors.append(
            FieldError(
                f"{at}/description",
                f"description must be null or a string of at most {MAX_DESCRIPTION} characters",
            )
        )
    if not isinstance(created, str) or not _rfc3339(created):
        errors.append(FieldError(f"{at}/created_at", "created_at must be an RFC 3339 time"))
    if expires is not None and (not isinstance(expires, str) or not _rfc3339(expires)):
        errors.append(FieldError(f"{at}/expires_at", "expires_at must be null or an RFC 3339 time"))
    if not isinstance(digest, str) or not re.fullmatch(DIGEST_PATTERN, digest):
        errors.append(FieldError(f"{at}/digest", "digest must be 64 lowercase hex digits"))
    if len(errors) > before:
        return None
    return BundleToken(
        id=token_id,
        role=role,
        description=description,
        created_at=created,
        expires_at=expires,
        digest=digest,
    )


def _parameters(raw: object) -> dp.HAParameters:
    values = dp.decode_fields(raw, pointer_prefix="/parameters")
    try:
        return dp.build_put(values)
    except ValidationFailed as exc:  # cross-field rules: point into the bundle
        raise ValidationFailed(
            [FieldError(f"/parameters{e.pointer}", e.detail) for e in exc.errors]
        ) from None


def _tokens(raw: object) -> list[BundleToken]:
    if not isinstance(raw, list):
        raise ValidationFailed([FieldError("/tokens", "tokens must be a JSON array")])
    errors: list[FieldError] = []
    tokens = [_token(item, f"/tokens/{i}", errors) for i, item in enumerate(raw)]
    seen_ids: set[str] = set()
    seen_digests: set[str] = set()
    for i, token in enumerate(tokens):
        if token is None:
            continue
        if token.id in seen_ids:
            errors.append(FieldError(f"/tokens/{i}/id", f"token id {token.id!r} appears twice"))
        if token.digest in seen_digests:
            errors.append(FieldError(f"/tokens/{i}/digest", "this digest appears twice"))
        seen_ids.add(token.id)
        seen_digests.add(token.digest)
    if errors:
        raise ValidationFailed(errors)
    return [t for t in tokens if t is not None]


def check_bundle(raw: object, own_version: str) -> Restored:
    """A bundle's parameters and tokens, once it passes every check.

    In order, each step only when the one before passed: a JSON object with the known members
    (unknown ones are refused, missing ones named); ``format`` 1; the checksum and
    ``hapair_version`` (same major version, at most one minor apart from ``own_version``), both
    reported together; then the members' values. Parameters missing from ``parameters`` take
    their defaults (a bundle of an older version), as with ``PUT``.

    Raises:
        ValidationFailed: Every problem of the first step that failed, with JSON pointers.
    """
    if not isinstance(raw, dict):
        raise ValidationFailed([FieldError("", "a bundle must be a JSON object")])
    errors = [FieldError(f"/{k}", f"unknown field '{k}'") for k in raw if k not in MEMBERS]
    errors += [FieldError(f"/{k}", f"{k} is required") for k in MEMBERS if k not in raw]
    if errors:
        raise ValidationFailed(errors, "this is not a hapair backup bundle")
    fmt = raw["format"]
    if isinstance(fmt, bool) or fmt != FORMAT:
        raise ValidationFailed(
            [FieldError("/format", f"unknown bundle format {fmt!r}: this hapair reads format 1")],
            "unknown bundle format",
        )
    if raw["checksum"] != checksum(raw):
        errors.append(
            FieldError(
                "/checksum",
                "the checksum does not match the bundle's content: it was changed or damaged",
            )
        )
    version = raw["hapair_version"]
    if not isinstance(version, str) or not compatible(version, own_version):
        errors.append(
            FieldError(
                "/hapair_version",
                f"a bundle of hapair {version!r} cannot be imported by hapair {own_version}: "
                "the versions must be at most one minor version apart",
            )
        )
    if errors:
        raise ValidationFailed(errors, "the bundle is damaged or incompatible")
    revision = raw["revision"]
    if isinstance(revision, float) and revision.is_integer():
        revision = int(revision)  # JSON's 12.0 is the integer 12, as everywhere in the API
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
        errors.append(FieldError("/revision", "revision must be a non-negative integer"))
    if not isinstance(raw["exported_at"], str) or not _rfc3339(raw["exported_at"]):
        errors.append(FieldError("/exported_at", "exported_at must be an RFC 3339 time"))
    params: dp.HAParameters | None = None
    tokens: list[BundleToken] = []
    try:
        params = _parameters(raw["parameters"])
    except ValidationFailed as exc:
        errors += exc.errors
    try:
        tokens = _tokens(raw["tokens"])
    except ValidationFailed as exc:
        errors += exc.errors
    if errors or params is None:
        raise ValidationFailed(errors)
    return Restored(params=params, tokens=tokens)


@dataclass(frozen=True)
class TokenPlan:
    """What an import does to the pair's tokens."""

    changes: TokenChanges
    write: list[BundleToken]  # every token of the bundle that is not revoked (written as is)
    delete: list[str]  # digests of the tokens the bundle does not hold


def plan_tokens(
    bundle: list[BundleToken], current: Mapping[str, str], revoked: Mapping[str, str]
) -> TokenPlan:
    """Makes the token set the bundle's, except that a revoked token stays revoked.

    Args:
        bundle: The bundle's tokens.
        current: digest -> id of the tokens the pair holds now.
        revoked: digest -> id of every token revoked on this pair.

    Returns:
        The plan: bundle tokens whose digest or id was revoked are skipped (``revoked``); the
        other ones are written (``added`` lists those the pair does not hold yet); tokens the
        pair holds that the bundle does not are deleted (``removed``).
    """
    revoked_ids = {i for i in revoked.values() if i}
    write = [t for t in bundle if t.digest not in revoked and t.id not in revoked_ids]
    skipped = [t.id for t in bundle if t.digest in revoked or t.id in revoked_ids]
    kept = {t.digest for t in write}
    delete = sorted(d for d in current if d not in kept)
    return TokenPlan(
        changes=TokenChanges(
            added=sorted(t.id for t in write if t.digest not in current),
            removed=sorted(current[d] for d in delete),
            revoked=sorted(skipped),
        ),
        write=write,
        delete=delete,
    )
