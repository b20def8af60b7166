"""openapi.json and the server agree on every value the server checks beyond JSON Schema.

The test walks every parameter of every operation and every property of every request body
in the committed document. Each is either listed in ``CHECKS`` (the server parses or checks it
with code of its own: a hand-written parser, a range, an enum, a list) or in ``SCHEMA_ONLY``
with the reason it needs no proof (it is decoded from the very declaration the document is
rendered from). A parameter or property in neither fails the walk, so a new one must be
classified.

Each checked one is then held against the server's own check, property-based: values are
drawn from the schema (its patterns, bounds and enums), from the parser's edge cases and from
arbitrary JSON, and a JSON Schema validator (jsonschema_rs, an ECMA-262 regex engine, not
Python's ``re``) must accept a value exactly when the server does.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Request

from hapair.api.events import _parse_types
from hapair.api.media import if_match
from hapair.api.openapi import CLOSED_BODIES
from hapair.api.ops import parse_role
from hapair.domain import parameters as dp
from hapair.domain.errors import DomainError
from hapair.domain.event_ids import WHITESPACE, parse_id
from hapair.domain.unit import parse_host_port
from hapair.services.events import TYPES
from hapair.services.parameters import _revision_of, parse_rollback
from hapair.services.tokens import parse_create
from hapair.services.unit import decode_patch, parse_maintenance
from tests.unit.test_openapi_patterns import VALUES as IF_MATCH_VALUES

ROOT = Path(__file__).resolve().parents[2]
DOC: dict[str, Any] = json.loads((ROOT / "openapi.json").read_text())
BODIES = tuple(CLOSED_BODIES)
# The smallest valid body of each: a property is checked in it, the others left valid.
BASE_BODY: dict[str, dict[str, Any]] = {
    "HAParametersWrite": {},
    "HAParametersPatch": {},
    "RollbackRequest": {"revision": 1},
    "UnitPatch": {},
    "TokenCreate": {"role": "viewer"},
    "MaintenanceWrite": {"enabled": False},
}


def walk(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every parameter (``op:in:name``) and body property (``Body.prop``) with its schema."""
    found: dict[str, dict[str, Any]] = {}
    for path_item in doc["paths"].values():
        for op in path_item.values():
            for param in op.get("parameters", []):
                found[f"{op['operationId']}:{param['in']}:{param['name']}"] = param["schema"]
    for body in BODIES:
        for prop, schema in doc["components"]["schemas"][body]["properties"].items():
            found[f"{body}.{prop}"] = schema
    return found


def _accepts(check: Callable[[Any], object]) -> Callable[[Any], bool]:
    def accepts(value: Any) -> bool:
        try:
            check(value)
        except (DomainError, ValueError):
            return False
        return True

    return accepts


def _text(limit: int, parse: Callable[[str], object]) -> Callable[[Any], bool]:
    """A query or header text: Litestar checks its length, then the server parses it."""

    def check(value: Any) -> None:
        if len(value) > limit or parse(value) is None:
            raise ValueError(value)

    return _accepts(check)


def _if_match(value: str) -> object:
    headers = [(b"if-match", value.encode("latin-1"))]
    return if_match(Request(scope={"type": "http", "headers": headers}))  # type: ignore[arg-type]


def _address(require_ip: bool) -> Callable[[Any], bool]:
    def check(value: Any) -> None:
        if value is not None:
            if not isinstance(value, str):
                raise ValueError(value)
            parse_host_port(value, require_ip=require_ip)

    return _accepts(check)


def _body(name: str, prop: str, parse: Callable[[dict[str, Any]], object]) -> Callable[[Any], bool]:
    return _accepts(lambda value: parse({**BASE_BODY[name], prop: value}))


def _parameters(kind: str) -> Callable[[dict[str, Any]], object]:
    def parse(raw: dict[str, Any]) -> object:
        _revision_of(raw)
        return dp.decode_fields(raw, allow_null=kind == "patch")

    return parse


CHECKS: dict[str, Callable[[Any], bool]] = {
    "stream_events:query:since": _text(60, parse_id),
    "stream_events:header:Last-Event-ID": _text(60, parse_id),
    "stream_events:query:types": _text(200, _parse_types),
    "readyz:query:role": _text(6, parse_role),
    **{
        f"{op}:header:If-Match": _accepts(_if_match)
        for op in ("replace_parameters", "patch_parameters", "rollback_parameters", "import_bundle")
    },
    "UnitPatch.partner_address": _address(require_ip=False),
    "UnitPatch.shared_address": _address(require_ip=True),
    "UnitPatch.mode": _body("UnitPatch", "mode", decode_patch),
    "RollbackRequest.revision": _body("RollbackRequest", "revision", parse_rollback),
    **{
        f"TokenCreate.{prop}": _body("TokenCreate", prop, parse_create)
        for prop in ("role", "description", "expires_in_s")
    },
    **{
        f"MaintenanceWrite.{prop}": _body("MaintenanceWrite", prop, parse_maintenance)
        for prop in ("enabled", "reason")
    },
    **{
        f"HAParameters{kind.title()}.{prop}": _body(
            f"HAParameters{kind.title()}", prop, _parameters(kind)
        )
        for kind in ("write", "patch")
        for prop in (*dp.HAParameters.__struct_fields__, "revision")
    },
}

_LITESTAR = "Litestar decodes it from the declaration the document is rendered from"
SCHEMA_ONLY: dict[str, str] = {
    **{
        f"{op}:query:dry_run": f"a boolean: {_LITESTAR}"
        for op in (
            "replace_parameters",
            "patch_parameters",
            "rollback_parameters",
            "switchover",
            "import_bundle",
        )
    },
    **{
        f"Bundle.{prop}": "a bundle is one whole under its SHA-256 checksum, which JSON Schema "
        "cannot state: a property varied alone is refused whatever its value; check_bundle's "
        "rules per field are tested in tests/unit/test_backup_bundle.py"
        for prop in (
            "format",
            "hapair_version",
            "exported_at",
            "revision",
            "parameters",
            "tokens",
            "checksum",
        )
    },
    "set_maintenance:query:force": f"a boolean: {_LITESTAR}",
    "list_history:query:limit": f"an integer in bounds: {_LITESTAR}",
    "list_history:query:before": f"an integer: {_LITESTAR} (its minimum added back)",
    "get_status:query:wait_in_sync": f"an integer: {_LITESTAR} (its minimum added back)",
    "get_status:query:timeout": f"a number in bounds: {_LITESTAR}",
    "get_history_revision:path:revision": f"an integer: {_LITESTAR}",
    "revoke_token:path:token_id": f"any text up to 64: {_LITESTAR}; an unknown id is a 404",
    **{
        f"HAParameters{kind}.{prop}": "read-only: the server ignores it in a write"
        for kind in ("Write", "Patch")
        for prop in dp.READ_ONLY_FIELDS
        if prop != "revision"
    },
}


def test_every_parameter_and_property_is_classified() -> None:
    found = set(walk(DOC))
    assert not set(CHECKS) & set(SCHEMA_ONLY)
    assert found - set(CHECKS) - set(SCHEMA_ONLY) == set(), "classify the new ones"
    assert (set(CHECKS) | set(SCHEMA_ONLY)) - found == set(), "listed but not in the document"


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return own + [p for v in node.values() for p in _patterns(v)]
    if isinstance(node, list):
        return [p for v in node for p in _patterns(v)]
    return []


def _numbers(node: Any) -> list[float]:
    if isinstance(node, dict):
        own = [node[k] for k in ("minimum", "maximum") if isinstance(node.get(k), int | float)]
        own += [v for v in node.get("enum", []) if isinstance(v, int | float)]
        return own + [n for v in node.values() for n in _numbers(v)]
    if isinstance(node, list):
        return [n for v in node for n in _numbers(v)]
    return []


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [v for v in node.get("enum", []) if isinstance(v, str)]
        return own + [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


# the ASCII whitespace both strip, and Unicode spaces both refuse
SPACES = st.text(st.sampled_from(WHITESPACE + "\x85\xa0\u2028\u3000\x00x"), max_size=2)
EDGE_TEXT = [
    "", " ", ",", "0", "00", "-1", "1-", "-", "1-1-1", "\n", "1\n", "a\n:80", "[::1]",
    "[0]:0", "[::1]:0", "[::1]:65535", "[::1]:65536", "[::1]:00080", "1.2.3.4:80", "01.2.3.4:80",
    "256.1.1.1:80", "[::ffff:1.2.3.4]:1", "[fe80::1%eth0]:1", "[fe80::1%]:1", "[1::2::3]:1",
    "[1:2:3:4:5:6:7:8:9]:1", "[1:2:3:4:5:6:7::]:1", "[::1:2:3:4:5:6:7]:1", "a.:1", "-a:1",
    "a" * 64 + ":1", ".:1", "host:", ":80", "\u0661\u0662", "18446744073709551615",
    "18446744073709551616", "0000000000000000000001-1", "role, ,pair", ",role", "role,,",
    "ROLE", " role ", "\u3000role\u3000", "\ufeffrole", '"7"', "*", 'W/"7"',
]  # fmt: skip
NUMBER = st.tuples(st.sampled_from(["", "0", "00"]), st.integers(0, 2**65).map(str)).map("".join)
EVENT_IDS = st.tuples(
    SPACES, NUMBER, st.sampled_from(["", "-"]), st.one_of(st.just(""), NUMBER), SPACES
).map("".join)
HOSTS = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
    st.tuples(st.ip_addresses(v=6), st.text(max_size=4)).map(lambda a: f"[{a[0]}%{a[1]}]"),
    st.from_regex(r"\A[a-z0-9-]{0,6}(\.[a-z0-9-]{0,5}){0,3}\.?\Z"),
    st.text(max_size=10),
)
ADDRESSES = st.tuples(
    HOSTS, st.sampled_from([":", ":", "", "::"]), st.one_of(NUMBER, st.integers(-1, 70000).map(str))
).map("".join)
# Schema patterns long enough that hypothesis' from_regex is slow: drawn by the builders above.
_ELEMENT = st.tuples(SPACES, st.sampled_from(["", *TYPES, "x", "reset", "Role"]), SPACES)
BUILT = {
    "types": st.lists(_ELEMENT.map("".join), min_size=1, max_size=4).map(",".join),
    "since": EVENT_IDS,
    "Last-Event-ID": EVENT_IDS,
    "address": ADDRESSES,
    "If-Match": IF_MATCH_VALUES,
}
JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)


def values_for(key: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values drawn from the schema and the parsers' edge cases (text only for parameters)."""
    texts: list[st.SearchStrategy[str]] = [
        st.sampled_from(EDGE_TEXT),
        st.text(max_size=40),
        *(built for name, built in BUILT.items() if key.endswith(name)),
        *(st.from_regex(p) for p in _patterns(schema) if not any(map(key.endswith, BUILT))),
    ]
    if ":" in key:  # a query, header or path parameter: text (a header: Latin-1)
        strings = st.one_of(texts)
        if ":header:" in key:
            strings = strings.filter(lambda s: all(ord(c) < 256 for c in s))
        return strings
    bounds = _numbers(schema)
    numbers = [st.sampled_from([b + d for b in bounds for d in (-1, 0, 1)])] if bounds else []
    words = _strings(schema)
    return st.one_of(
        *texts,
        *numbers,
        *([st.sampled_from(words + [w.upper() for w in words])] if words else []),
        *(
            [st.sampled_from([float(b) for b in bounds] + [b + 0.5 for b in bounds])]
            if bounds
            else []
        ),
        JSON_LEAF,
        st.lists(JSON_LEAF, max_size=2),
        st.dictionaries(st.text(max_size=3), JSON_LEAF, max_size=1),
    )


def _validator(key: str, schema: dict[str, Any]) -> Callable[[Any], bool]:
    if ":" in key:
        validator = jsonschema_rs.validator_for({**schema, "components": DOC["components"]})
        return validator.is_valid  # type: ignore[no-any-return]
    body, prop = key.split(".", 1)
    whole = jsonschema_rs.validator_for(
        {**DOC["components"]["schemas"][body], "components": DOC["components"]}
    )
    return lambda value: bool(whole.is_valid({**BASE_BODY[body], prop: value}))


ITEMS = walk(DOC)


@pytest.mark.parametrize("key", sorted(CHECKS))
def test_document_and_server_agree(key: str) -> None:
    schema = ITEMS[key]
    document_allows = _validator(key, schema)
    server_accepts = CHECKS[key]

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
    @given(values_for(key, schema))
    def agree(value: Any) -> None:
        assert document_allows(value) == server_accepts(value), (key, value)

    agree()


def test_the_types_pattern_names_every_type_the_server_knows() -> None:
    pattern = ITEMS["stream_events:query:types"]["pattern"]
    for kind in TYPES:
        assert re.search(re.escape(kind), pattern), kind


def _descriptions(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [v for k, v in node.items() if k == "description" and isinstance(v, str)]
        return own + [d for v in node.values() for d in _descriptions(v)]
    if isinstance(node, list):
        return [d for v in node for d in _descriptions(v)]
    return []


def test_every_description_is_cleandoc_normal_so_every_python_renders_the_same() -> None:
    """Python 3.13 strips a docstring's indentation at compile time, 3.11 and 3.12 do not; a
    description ``inspect.cleandoc`` leaves unchanged reads the same from either."""
    found = _descriptions(DOC)
    assert len(found) > 50
    assert [d for d in found if inspect.cleandoc(d) != d] == []
