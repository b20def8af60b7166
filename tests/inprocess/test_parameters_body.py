"""``/api/v1/ha/parameters`` requests refused before any field is read: size, media type, JSON
syntax and nesting, non-object bodies, query values."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api_checks import (
    MERGE_PATCH,
    PARAMS,
    assert_unchanged,
    problem,
    revision_of,
)


def test_body_over_64_kib_answers_413(api: httpx.Client) -> None:
    revision = revision_of(api)
    big = b'{"update_interface": "' + b"x" * (65 * 1024) + b'"}'
    for method in ("PUT", "PATCH"):
        r = api.request(method, PARAMS, content=big, headers={"content-type": "application/json"})
        problem(r, 413, "too-large")
        assert_unchanged(api, revision)


def test_body_over_64_kib_chunked_answers_413(api: httpx.Client) -> None:
    revision = revision_of(api)

    def chunks() -> Any:
        yield b'{"update_interface": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    r = api.patch(PARAMS, content=chunks(), headers={"content-type": "application/json"})
    problem(r, 413, "too-large")
    assert_unchanged(api, revision)


@pytest.mark.parametrize(
    ("method", "content_type"),
    [
        ("PATCH", "text/plain"),
        ("PATCH", "application/x-www-form-urlencoded"),
        ("PATCH", None),
        ("PUT", MERGE_PATCH),
        ("PUT", "text/json"),
        ("PUT", None),
    ],
)
def test_write_with_wrong_media_type_answers_415(
    api: httpx.Client, method: str, content_type: str | None
) -> None:
    revision = revision_of(api)
    headers = {"content-type": content_type} if content_type else {}
    r = api.request(method, PARAMS, content=b'{"ha_timeout": 3}', headers=headers)
    problem(r, 415, "unsupported-media-type")
    assert_unchanged(api, revision)


@pytest.mark.parametrize(
    "raw", [b"{bad", b"", b'{"ha_timeout": 3', b"\xff\xfe", b"nan", b'{"a":1}x']
)
def test_write_with_non_json_body_answers_400_malformed(api: httpx.Client, raw: bytes) -> None:
    revision = revision_of(api)
    for method in ("PUT", "PATCH"):
        r = api.request(method, PARAMS, content=raw, headers={"content-type": "application/json"})
        problem(r, 400, "malformed")
        assert_unchanged(api, revision)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", PARAMS),
        ("PATCH", PARAMS),
        ("POST", f"{PARAMS}/rollback"),
        ("PATCH", "/api/v1/unit"),
    ],
)
@pytest.mark.parametrize(
    "raw", [b"[" * 10000 + b"]" * 10000, b'{"a":' * 10000 + b"1" + b"}" * 10000]
)
def test_write_with_deeply_nested_json_answers_400_malformed(
    api: httpx.Client, method: str, path: str, raw: bytes
) -> None:
    revision = revision_of(api)
    r = api.request(method, path, content=raw, headers={"content-type": "application/json"})
    problem(r, 400, "malformed")
    assert_unchanged(api, revision)


@pytest.mark.parametrize("raw", [b"[]", b"3", b'"x"', b"null", b"true"])
def test_write_with_non_object_json_answers_422(api: httpx.Client, raw: bytes) -> None:
    revision = revision_of(api)
    for method in ("PUT", "PATCH"):
        r = api.request(method, PARAMS, content=raw, headers={"content-type": "application/json"})
        problem(r, 422, "validation")
        assert_unchanged(api, revision)


@pytest.mark.parametrize("value", ["maybe", "2", "truee"])
def test_write_with_bad_query_value_answers_400(api: httpx.Client, value: str) -> None:
    revision = revision_of(api)
    r = api.patch(PARAMS, params={"dry_run": value}, json={"ha_timeout": 3})
    problem(r, 400, "malformed")
    assert_unchanged(api, revision)
