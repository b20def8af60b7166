"""Schemathesis hooks for hapair: rules JSON Schema cannot state, applied to positive cases only.

The OpenAPI document states every per-field rule the server enforces (types, ranges, enums,
patterns, closed objects). A few rules relate a request to other fields or to the server's
current state, which JSON Schema cannot express. Schemathesis would generate "schema-valid"
requests that break them, get the documented 412/422 and report a rejected valid request.
Rather than loosen the server, these hooks turn such positive cases into requests that satisfy
the rules, before they are sent. Negative cases are never touched.

- ``If-Match`` header and body ``revision``: must name the *current* revision (server state),
  so they are set to it.
- ``l4_sync_threshold < l4_sync_period`` (cross-field, and across the stored values for a merge
  patch): the threshold is lowered to ``period - 1``.
- ``hard_reboot_on_link_failure`` only while ``preferred_server`` is ``none`` (cross-field):
  the flag is cleared.
- ``PATCH /unit``: an HA mode needs both addresses, whatever is staged already (cross-field, and
  across the unit's state); and an address the non-HA run's ``reboot_unit`` would then apply
  must not send the unit looking up a random host name. The address's own form is in the
  document (``HOST:PORT``, the shared address an IP literal); the values are replaced by
  loopback addresses nobody listens on.

- ``POST /ha/import``: ``If-Match`` as above; a bundle's ``checksum`` is the SHA-256 of its
  other members, and its ``hapair_version`` must be at most one minor version from the
  server's (neither a schema can state): the parameters are fixed as above, duplicate token
  ids and digests dropped, times made ones Python reads (no leap second), the version set to
  the server's and the checksum recomputed.

- ``GET /ha/status?wait_in_sync=N&timeout=S`` waits up to S (1..60) seconds by design, and a
  unit fuzzed alone is never in sync: S is cut to 1 so a case does not run into the request
  timeout (the wait itself is tested in tests/integration/test_switchover.py).

The hooks read the current parameters from the server under test (``HAPAIR_FUZZ_URL`` and
``HAPAIR_FUZZ_TOKEN``, set by the test that starts schemathesis).
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import msgspec
import schemathesis

from hapair.domain.backup import checksum
from hapair.domain.parameters import HAParameters
from hapair.domain.version import VERSION

DEFAULTS: dict[str, Any] = msgspec.structs.asdict(HAParameters())
WRITES = {"replace_parameters", "patch_parameters", "rollback_parameters"}


def _positive(case: Any) -> bool:
    meta = case.meta
    return meta is None or meta.generation.mode.is_positive


def _current() -> tuple[dict[str, Any], str | None]:
    url = os.environ["HAPAIR_FUZZ_URL"].rstrip("/") + "/api/v1/ha/parameters"
    token = os.environ["HAPAIR_FUZZ_TOKEN"]
    r = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    if r.status_code != 200:
        return dict(DEFAULTS), None
    body: dict[str, Any] = r.json()
    return body, r.headers.get("etag")


def _fix_if_match(case: Any, etag: str | None) -> None:
    headers = case.headers
    if headers:
        for name in list(headers):
            if name.lower() == "if-match":
                if etag is None:
                    del headers[name]
                else:
                    headers[name] = etag


def _fix_parameters(case: Any, op_id: str) -> None:
    current, etag = _current()
    _fix_if_match(case, etag)
    body = case.body
    if not isinstance(body, dict) or op_id == "rollback_parameters":
        return
    if body.get("revision") is not None:
        body["revision"] = current.get("revision", 0)
    base = current if op_id == "patch_parameters" else {}

    def effective(name: str) -> Any:
        if name in body:
            value = body[name]
            return DEFAULTS[name] if value is None else value
        return base.get(name, DEFAULTS[name])

    period = effective("l4_sync_period")
    if effective("l4_sync_threshold") >= period:
        body["l4_sync_threshold"] = int(period) - 1
    if effective("hard_reboot_on_link_failure") and effective("preferred_server") != "none":
        body["hard_reboot_on_link_failure"] = False


def _fix_bundle(case: Any) -> None:
    _fix_if_match(case, _current()[1])
    body = case.body
    if not isinstance(body, dict):
        return
    params = body.get("parameters")
    if isinstance(params, dict):
        period = params.get("l4_sync_period", DEFAULTS["l4_sync_period"])
        if params.get("l4_sync_threshold", DEFAULTS["l4_sync_threshold"]) >= period:
            params["l4_sync_threshold"] = int(period) - 1
        if params.get("hard_reboot_on_link_failure") and params.get("preferred_server") not in (
            None,
            "none",
        ):
            params["hard_reboot_on_link_failure"] = False
    tokens = body.get("tokens")
    if isinstance(tokens, list):
        ids: set[Any] = set()
        digests: set[Any] = set()
        kept = []
        for token in tokens:
            if not isinstance(token, dict):
                continue
            if token.get("id") in ids or token.get("digest") in digests:
                continue
            ids.add(token.get("id"))
            digests.add(token.get("digest"))
            for name in ("created_at", "expires_at"):
                if isinstance(token.get(name), str):
                    token[name] = "2026-01-01T00:00:00Z"
            kept.append(token)
        body["tokens"] = kept
    if isinstance(body.get("exported_at"), str):
        body["exported_at"] = "2026-01-01T00:00:00Z"
    body["hapair_version"] = VERSION
    body["checksum"] = checksum(body)


def _fix_unit(case: Any) -> None:
    body = case.body
    if not isinstance(body, dict):
        return
    url = os.environ["HAPAIR_FUZZ_URL"].rstrip("/") + "/api/v1/unit"
    token = os.environ["HAPAIR_FUZZ_TOKEN"]
    unit = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
    mode = body.get("mode") or (unit.get("pending") or {}).get("mode") or unit.get("mode")
    partner = os.environ.get("HAPAIR_FUZZ_PARTNER", "127.0.0.12:9")
    shared = os.environ.get("HAPAIR_FUZZ_SHARED", "127.0.0.10:9")
    if mode in {"first", "second"}:
        # An HA mode needs both addresses, whatever is staged or current.
        body["partner_address"], body["shared_address"] = partner, shared
        return
    if isinstance(body.get("partner_address"), str):
        body["partner_address"] = partner
    if isinstance(body.get("shared_address"), str):
        body["shared_address"] = shared


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Make positive cases satisfy the state-dependent and cross-field rules (see above)."""
    op_id = case.operation.definition.raw.get("operationId")
    if op_id == "get_status" and isinstance(case.query, dict) and "wait_in_sync" in case.query:
        # every case that waits, negative ones too (an unknown query parameter is ignored);
        # a timeout the case made invalid on purpose stays as it is
        raw = case.query.get("timeout", 10)
        try:
            timeout = float(raw)  # generated as a number or as its text
        except (TypeError, ValueError):
            timeout = 0.0
        if not isinstance(raw, bool) and 1 <= timeout <= 60:
            case.query["timeout"] = 1
    if not _positive(case):
        return
    if op_id in WRITES:
        _fix_parameters(case, op_id)
    elif op_id == "patch_unit":
        _fix_unit(case)
    elif op_id == "import_bundle":
        _fix_bundle(case)


@schemathesis.check
def problem_details_on_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx answer of the API is an RFC 9457 problem with a hapair problem type."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])
    if isinstance(content_type, list):
        content_type = content_type[0] if content_type else ""
    assert content_type.startswith("application/problem+json"), content_type
    body = response.json()
    assert body["type"].startswith("urn:hapair:problem:"), body
    assert body["status"] == response.status_code, body
    if response.status_code >= 500:
        # The only 5xx a healthy unit may answer: the partner of a unit running alone, and
        # /readyz?role=active on a unit that does not serve the shared address (non-HA).
        assert response.status_code == 503, body
        assert body["type"] in {
            "urn:hapair:problem:partner-unavailable",
            "urn:hapair:problem:not-serving",
        }, body
    return None
