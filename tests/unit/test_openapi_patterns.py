"""The If-Match pattern openapi.json states accepts exactly what the server's parser accepts."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from litestar import Request

from hapair.api.media import if_match
from hapair.api.openapi import IF_MATCH_PATTERN
from hapair.domain.errors import RevisionMismatch

# A header value is Latin-1. '²', '³' and '¹' are tested on their own below: str.isdigit() says
# yes to them, and the server once answered them with a 500.
SUPERSCRIPTS = "\xb2\xb3\xb9"
LATIN_1 = st.characters(max_codepoint=0xFF, exclude_characters=SUPERSCRIPTS)
# Values built like an If-Match (elements of optional whitespace, weak prefix, quotes and a
# revision, joined by commas), each part sometimes bent, so that about half are accepted.
OWS = st.text(st.sampled_from(" \t\xa0\x85\x1c\x0b\n"), max_size=2)
PREFIX = st.sampled_from(["", "", "W/", "w/", "W", "/", "W/W/"])
QUOTES = st.sampled_from(["", '"', '"', '""', "'"])
REVISION = st.one_of(
    st.sampled_from(["7", "42", "0", "", "*", "x", "7x", "-1", "7 7"]), st.text(LATIN_1, max_size=2)
)
ELEMENT = st.tuples(OWS, PREFIX, QUOTES, REVISION, QUOTES, OWS).map("".join)
VALUES = st.one_of(
    st.lists(ELEMENT, min_size=1, max_size=3).map(",".join),
    st.tuples(OWS, st.sampled_from(["*", "**", "* *"]), OWS).map("".join),
    st.text(LATIN_1, max_size=12),
)


def request_with(value: str) -> Request:  # type: ignore[type-arg]
    return Request(scope={"type": "http", "headers": [(b"if-match", value.encode("latin-1"))]})


def server_accepts(value: str) -> bool:
    try:
        if_match(request_with(value))
    except RevisionMismatch:
        return False
    return True


def document_allows(value: str) -> bool:
    # JSON Schema's "pattern" searches (the pattern anchors itself).
    return re.search(IF_MATCH_PATTERN, value) is not None


@settings(max_examples=1000, deadline=None)
@given(VALUES)
@example('"7"')
@example('W/"7"')
@example('"8", "7"')
@example("*")
@example(" * ")
@example("*, *")
@example('"x", 7')
@example("W/W/7")
@example('" 7"')
@example('W/ "7"')
@example("")
def test_if_match_pattern_and_server_agree(value: str) -> None:
    assert document_allows(value) == server_accepts(value)


@pytest.mark.parametrize(
    ("value", "revisions"),
    [('"7"', (7,)), ('W/"7"', (7,)), ('"7", W/"8"', (7, 8)), ("*", None), ('"a", "9"', (9,))],
)
def test_if_match_pattern_admits_what_the_server_reads(
    value: str, revisions: tuple[int, ...] | None
) -> None:
    assert document_allows(value)
    assert if_match(request_with(value)) == revisions


@pytest.mark.parametrize("digit", SUPERSCRIPTS)
def test_if_match_superscript_digit_is_refused_like_any_non_revision(digit: str) -> None:
    assert not document_allows(f'"{digit}"')
    with pytest.raises(RevisionMismatch):
        if_match(request_with(f'"{digit}"'))
