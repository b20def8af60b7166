"""Unit tests for decoding HA parameters field by field (ranges and messages from the types)."""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec import Meta

from hapair.domain.errors import FieldError, ValidationFailed
from hapair.domain.parameter_rules import field_rules
from hapair.domain.parameters import PARAMETER_FIELDS, decode_fields

INT_RANGES: dict[str, tuple[int, int]] = {
    "initial_wait_time": (0, 180),
    "virtual_id": (1, 255),
    "l4_sync_threshold": (1, 254),
    "l4_sync_period": (2, 255),
    "l4_sync_refresh_period": (0, 10),
    "failback_delay": (0, 3600),
}
INT_FIELDS = (*INT_RANGES, "ha_timeout")
BOOL_FIELDS = (
    "use_broadcast",
    "hard_reboot_on_link_failure",
    "l4_connection_updates",
    "l7_persistence_updates",
    "use_virtual_mac",
)
INTERFACE_FIELDS = ("update_interface", "multicast_interface")
FAST = settings(max_examples=60, deadline=None)


def pointers(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [e.pointer for e in exc.value.errors]


@FAST
@given(field=st.sampled_from(list(INT_RANGES)), data=st.data())
def test_decode_accepts_every_in_range_int(field: str, data: st.DataObject) -> None:
    lo, hi = INT_RANGES[field]
    value = data.draw(st.integers(lo, hi))
    assert decode_fields({field: value}) == {field: value}


@FAST
@given(
    field=st.sampled_from(list(INT_RANGES)),
    data=st.data(),
)
def test_decode_rejects_out_of_range_int(field: str, data: st.DataObject) -> None:
    lo, hi = INT_RANGES[field]
    value = data.draw(st.integers(max_value=lo - 1) | st.integers(min_value=hi + 1))
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({field: value})
    assert pointers(exc) == [f"/{field}"]
    assert field in exc.value.errors[0].detail
    assert str(value) in exc.value.errors[0].detail


@pytest.mark.parametrize("value", [3, 6, 9, 12, 15])
def test_decode_accepts_allowed_ha_timeout(value: int) -> None:
    assert decode_fields({"ha_timeout": value}) == {"ha_timeout": value}


@FAST
@given(st.integers().filter(lambda v: v not in {3, 6, 9, 12, 15}))
def test_decode_rejects_other_ha_timeout(value: int) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({"ha_timeout": value})
    assert exc.value.errors == [
        FieldError("/ha_timeout", f"ha_timeout must be one of 3, 6, 9, 12, 15, got {value}")
    ]


@FAST
@given(field=st.sampled_from(INT_FIELDS), data=st.data())
def test_decode_accepts_integral_float(field: str, data: st.DataObject) -> None:
    lo, hi = INT_RANGES.get(field, (3, 3))
    value = data.draw(st.integers(lo, hi))
    result = decode_fields({field: float(value)})
    assert result == {field: value}
    assert type(result[field]) is int


@pytest.mark.parametrize("field", INT_FIELDS)
@pytest.mark.parametrize("value", [9.5, "9", "3", True, False, [], {}, float("inf")])
def test_decode_rejects_non_integer_for_int(field: str, value: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({field: value})
    assert pointers(exc) == [f"/{field}"]


@pytest.mark.parametrize("field", BOOL_FIELDS)
@pytest.mark.parametrize("value", [True, False])
def test_decode_accepts_booleans(field: str, value: bool) -> None:
    assert decode_fields({field: value}) == {field: value}


@pytest.mark.parametrize("field", BOOL_FIELDS)
@pytest.mark.parametrize("value", [0, 1, "true", 1.0, "false"])
def test_decode_rejects_non_boolean_for_bool(field: str, value: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({field: value})
    assert pointers(exc) == [f"/{field}"]


@pytest.mark.parametrize("value", ["none", "first", "second"])
def test_decode_accepts_preferred_server_values(value: str) -> None:
    assert decode_fields({"preferred_server": value}) == {"preferred_server": value}


@pytest.mark.parametrize("value", ["None", "third", "", 1, True])
def test_decode_rejects_other_preferred_server(value: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({"preferred_server": value})
    assert pointers(exc) == ["/preferred_server"]


@FAST
@given(
    field=st.sampled_from(INTERFACE_FIELDS),
    name=st.text(
        st.sampled_from("ABCXYZabcxyz0189_.-"),
        min_size=1,
        max_size=15,
    ).filter(lambda s: s not in (".", "..")),
)
def test_decode_accepts_interface_names(field: str, name: str) -> None:
    assert decode_fields({field: name}) == {field: name}


@FAST
@given(field=st.sampled_from(INTERFACE_FIELDS), name=st.text(min_size=1, max_size=15))
def test_interface_names_server_and_document_pattern_agree(field: str, name: str) -> None:
    """The OpenAPI pattern (ECMA-262, ``$`` only at the very end) and the server agree."""
    in_document = re.fullmatch(r"(?!\.\.?$)[A-Za-z0-9_.-]{1,15}", name) is not None
    try:
        decode_fields({field: name})
    except ValidationFailed:
        accepted = False
    else:
        accepted = True
    assert accepted == in_document


@pytest.mark.parametrize("field", INTERFACE_FIELDS)
@pytest.mark.parametrize(
    "value",
    [
        "",
        "a" * 16,
        "eth/0",
        "eth:0",
        "eth 0",
        "eth0\n",
        "\teth0",
        0,
        None,
        ".",
        "..",
        "a;b",
        "$(reboot)",
        "eth\x00",
        "ethé",
        "é" * 7,
    ],
)
def test_decode_rejects_bad_interface_names(field: str, value: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({field: value})
    assert pointers(exc) == [f"/{field}"]


def test_decode_accepts_null_virtual_id_as_auto() -> None:
    assert decode_fields({"virtual_id": None}) == {"virtual_id": None}


@pytest.mark.parametrize("field", [f for f in PARAMETER_FIELDS if f != "virtual_id"])
def test_decode_rejects_null_without_allow_null(field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({field: None})
    assert pointers(exc) == [f"/{field}"]


@pytest.mark.parametrize("field", PARAMETER_FIELDS)
def test_decode_keeps_null_with_allow_null(field: str) -> None:
    assert decode_fields({field: None}, allow_null=True) == {field: None}


def test_decode_drops_read_only_fields() -> None:
    raw = {"revision": 4, "updated_at": "x", "virtual_id_source": "auto", "ha_timeout": 3}
    assert decode_fields(raw) == {"ha_timeout": 3}


def test_decode_reports_each_unknown_field() -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({"ha_timout": 9, "foo": 1, "a/b~": 2, "ha_timeout": 9})
    assert exc.value.errors == [
        FieldError("/ha_timout", "unknown field 'ha_timout'"),
        FieldError("/foo", "unknown field 'foo'"),
        FieldError("/a~1b~0", "unknown field 'a/b~'"),
    ]


def test_decode_reports_all_bad_fields() -> None:
    raw = {"ha_timeout": "9", "use_broadcast": 0, "l4_sync_period": 1, "bogus": True}
    with pytest.raises(ValidationFailed) as exc:
        decode_fields(raw)
    assert sorted(pointers(exc)) == ["/bogus", "/ha_timeout", "/l4_sync_period", "/use_broadcast"]


@pytest.mark.parametrize("raw", [[], "x", 3, None, True, [{"ha_timeout": 9}]])
def test_decode_rejects_non_object_body(raw: object) -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields(raw)
    assert exc.value.errors == [FieldError("", "request body must be a JSON object")]


def test_decode_prefixes_pointers() -> None:
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({"x": 1}, pointer_prefix="/parameters")
    assert pointers(exc) == ["/parameters/x"]


_INTERFACE = "an interface name: 1 to 15 of A-Z a-z 0-9 _ . - (not '.' or '..')"
EXPECTED_WORDS = {
    "ha_timeout": "one of 3, 6, 9, 12, 15",
    "initial_wait_time": "an integer from 0 to 180",
    "virtual_id": "an integer from 1 to 255, or null for auto",
    "use_broadcast": "a boolean (true or false)",
    "preferred_server": "one of none, first, second",
    "update_interface": _INTERFACE,
    "hard_reboot_on_link_failure": "a boolean (true or false)",
    "l4_connection_updates": "a boolean (true or false)",
    "l4_sync_threshold": "an integer from 1 to 254",
    "l4_sync_period": "an integer from 2 to 255",
    "l4_sync_refresh_period": "an integer from 0 to 10",
    "l7_persistence_updates": "a boolean (true or false)",
    "multicast_interface": _INTERFACE,
    "use_virtual_mac": "a boolean (true or false)",
    "failback_delay": "an integer from 0 to 3600",
}


@pytest.mark.parametrize("field", PARAMETER_FIELDS)
def test_decode_tells_what_each_field_expects_word_for_word(field: str) -> None:
    """The messages, read from the types, are the ones the API has always answered."""
    with pytest.raises(ValidationFailed) as exc:
        decode_fields({field: [1]})
    assert exc.value.errors == [
        FieldError(f"/{field}", f"{field} must be {EXPECTED_WORDS[field]}, got [1]")
    ]


@pytest.mark.parametrize(
    "hint",
    [float, Annotated[int, Meta(ge=0)], str, int | str, dict[str, int]],
    ids=["float", "int-without-le", "plain-str", "union", "dict"],
)
def test_field_rules_refuse_a_type_they_cannot_describe(hint: Any) -> None:
    struct = msgspec.defstruct("Odd", [("odd", hint)])
    with pytest.raises(TypeError, match="no field rule"):
        field_rules(struct)
