"""Stored records (SPEC 5 "Versions"): a schema version, tolerant decoding that keeps what a
newer unit wrote, migration of older records; the API's input stays strict."""

from __future__ import annotations

import msgspec
import pytest

from hapair.domain.parameters import HAParameters
from hapair.store import records
from hapair.store.migrate import upgraded
from hapair.store.parameters import HistoryEntry, StoredParameters
from hapair.store.tokens import TokenRecord


def _newer_params_record() -> bytes:
    """What a newer unit might store: a schema above ours, a top-level member and a
    parameter this build does not know."""
    return msgspec.json.encode(
        {
            "schema": records.SCHEMA + 1,
            "params": {"ha_timeout": 6, "quorum_witness": "10.0.0.9"},
            "updated_at": "2026-12-02T00:00:00Z",
            "commit_id": "c1",
            "signed_by": "second",
        }
    )


def test_unknown_members_are_kept_not_an_error_and_round_trip() -> None:
    found = records.decode(_newer_params_record(), StoredParameters)
    assert found.value.params.ha_timeout == 6 and found.value.commit_id == "c1"
    assert found.schema == records.SCHEMA + 1 and found.newer
    assert found.extra == {"signed_by": "second", "params": {"quorum_witness": "10.0.0.9"}}
    again = msgspec.json.decode(records.encode(found.value, found.extra))
    assert again["signed_by"] == "second"
    assert again["params"]["quorum_witness"] == "10.0.0.9"
    assert again["params"]["ha_timeout"] == 6  # known members are this build's values


def test_known_members_win_over_kept_ones() -> None:
    stored = StoredParameters(params=HAParameters(ha_timeout=3))
    data = records.to_data(stored, {"params": {"ha_timeout": 15, "extra": 1}})
    assert data["params"]["ha_timeout"] == 3 and data["params"]["extra"] == 1


def test_record_without_schema_is_schema_zero_and_migrates() -> None:
    old = msgspec.json.encode(
        {"id": "t1", "role": "admin", "created_at": "2026-01-01T00:00:00Z"}  # no schema
    )
    found = records.decode(old, TokenRecord)
    assert found.schema == 0 and not found.newer and found.value.id == "t1"
    new = upgraded(old, TokenRecord)
    assert new is not None
    assert msgspec.json.decode(new)["schema"] == records.SCHEMA
    assert upgraded(new, TokenRecord) is None  # current: nothing to do


def test_a_newer_record_is_never_rewritten_by_migration() -> None:
    assert upgraded(_newer_params_record(), StoredParameters) is None


def test_history_entry_keeps_a_newer_parameter() -> None:
    raw = msgspec.json.encode(
        {
            "revision": 4,
            "updated_at": "2026-12-02T00:00:00Z",
            "actor": "admin",
            "changes": {"ha_timeout": [9, 6]},
            "params": {"ha_timeout": 6, "quorum_witness": "x"},
            "schema": 1,
        }
    )
    entry = records.decode(raw, HistoryEntry).value
    assert entry.revision == 4 and entry.params.ha_timeout == 6


def test_a_known_member_of_the_wrong_type_is_still_an_error() -> None:
    raw = msgspec.json.encode({"params": {"ha_timeout": "nine"}})
    with pytest.raises(msgspec.ValidationError):
        records.decode(raw, StoredParameters)
    with pytest.raises(msgspec.ValidationError):
        records.decode(b"[1, 2]", StoredParameters)


def test_api_input_stays_strict() -> None:
    with pytest.raises(msgspec.ValidationError, match="unknown field"):
        msgspec.convert({"ha_timeout": 9, "quorum_witness": "x"}, HAParameters)
