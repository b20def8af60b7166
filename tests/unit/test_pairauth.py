"""The unit-to-unit MAC, the nonce window and the Redis host rule (engine/pairauth.py)."""

from __future__ import annotations

import pytest

from hapair.engine import pairauth
from hapair.engine.pairauth import AuthFailed, NonceCache, PairAuth, redis_on_partner_host

KEY = "pair-key-0123456789abcdef"
PATH = "/internal/v1/heartbeat"
BODY = b'{"unit":"second","role":"active"}'


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def units(clock: Clock | None = None) -> tuple[PairAuth, PairAuth]:
    c = clock or Clock()
    return PairAuth(KEY, "first", clock=c), PairAuth(KEY, "second", clock=c)


def test_call_from_partner_is_accepted_once() -> None:
    first, second = units()
    headers = second.sign_call("POST", PATH, BODY)
    assert first.verify_call("POST", PATH, headers, BODY) == headers[pairauth.NONCE_HEADER]
    with pytest.raises(AuthFailed, match="replayed"):
        first.verify_call("POST", PATH, headers, BODY)


def test_call_unsigned_or_under_another_key_is_refused() -> None:
    first, _ = units()
    with pytest.raises(AuthFailed, match="not signed"):
        first.verify_call("POST", PATH, {}, BODY)
    forged = PairAuth("another-key-0123456789", "second").sign_call("POST", PATH, BODY)
    with pytest.raises(AuthFailed, match="bad signature"):
        first.verify_call("POST", PATH, forged, BODY)


@pytest.mark.parametrize(
    ("field", "value"),
    [("method", "PUT"), ("path", "/internal/v1/demote"), ("body", b'{"role":"standby"}')],
)
def test_call_altered_in_transit_is_refused(field: str, value: object) -> None:
    first, second = units()
    headers = second.sign_call("POST", PATH, BODY)
    args: dict[str, object] = {"method": "POST", "path": PATH, "body": BODY, field: value}
    with pytest.raises(AuthFailed, match="bad signature"):
        first.verify_call(args["method"], args["path"], headers, args["body"])  # type: ignore[arg-type]


@pytest.mark.parametrize("header", [pairauth.TIMESTAMP_HEADER, pairauth.NONCE_HEADER])
def test_call_with_a_changed_timestamp_or_nonce_is_refused(header: str) -> None:
    first, second = units()
    headers = second.sign_call("POST", PATH, BODY)
    headers[header] = "1800000001.000" if header == pairauth.TIMESTAMP_HEADER else "0" * 32
    with pytest.raises(AuthFailed, match="bad signature"):
        first.verify_call("POST", PATH, headers, BODY)


def test_call_claiming_to_come_from_this_unit_is_refused() -> None:
    first, _ = units()
    # signed with the right key, by a process that calls itself "first" (a reflected call)
    own = first.sign_call("POST", PATH, BODY)
    with pytest.raises(AuthFailed, match="this unit itself"):
        first.verify_call("POST", PATH, own, BODY)


def test_call_addressed_to_the_partner_is_refused() -> None:
    """The partner's call to us, replayed to the partner itself: not addressed to it."""
    _, second = units()
    to_first = second.sign_call("POST", PATH, BODY)
    with pytest.raises(AuthFailed, match="this unit itself"):
        second.verify_call("POST", PATH, to_first, BODY)
    tampered = {**to_first, pairauth.TO_HEADER: "second", pairauth.FROM_HEADER: "first"}
    with pytest.raises(AuthFailed, match="bad signature"):
        second.verify_call("POST", PATH, tampered, BODY)


def test_call_from_an_unknown_sender_is_refused() -> None:
    first, second = units()
    headers = {**second.sign_call("POST", PATH, BODY), pairauth.FROM_HEADER: "third"}
    with pytest.raises(AuthFailed, match="not from the partner"):
        first.verify_call("POST", PATH, headers, BODY)
    headers = {**second.sign_call("POST", PATH, BODY), pairauth.TO_HEADER: "third"}
    with pytest.raises(AuthFailed, match="addressed to"):
        first.verify_call("POST", PATH, headers, BODY)


@pytest.mark.parametrize("skew", [10.5, -10.5, 3600.0])
def test_call_outside_the_window_is_refused(skew: float) -> None:
    clock = Clock()
    first, _ = units(clock)
    sender = PairAuth(KEY, "second", clock=Clock(clock.now + skew))
    with pytest.raises(AuthFailed, match="stale"):
        first.verify_call("POST", PATH, sender.sign_call("POST", PATH, BODY), BODY)


def test_call_inside_the_window_is_accepted() -> None:
    clock = Clock()
    first, _ = units(clock)
    for skew in (9.5, -9.5):
        sender = PairAuth(KEY, "second", clock=Clock(clock.now + skew))
        first.verify_call("POST", PATH, sender.sign_call("POST", PATH, BODY), BODY)


def test_window_is_at_most_10_seconds() -> None:
    assert PairAuth(KEY, "first", window_s=30).window_s == 10


def test_answer_is_bound_to_its_call() -> None:
    first, second = units()
    call = first.sign_call("POST", PATH, BODY)
    nonce = second.verify_call("POST", PATH, call, BODY)
    answer = second.sign_answer("POST", PATH, nonce, b"{}")
    first.verify_answer("POST", PATH, call[pairauth.NONCE_HEADER], answer, b"{}")
    other_call = first.sign_call("POST", PATH, BODY)
    with pytest.raises(AuthFailed, match="not bound"):
        first.verify_answer("POST", PATH, other_call[pairauth.NONCE_HEADER], answer, b"{}")
    with pytest.raises(AuthFailed, match="bad signature"):
        first.verify_answer("POST", "/internal/v1/demote", nonce, answer, b"{}")


def test_answer_cannot_be_replayed_as_a_call() -> None:
    first, second = units()
    call = first.sign_call("POST", PATH, BODY)
    answer = second.sign_answer("POST", PATH, call[pairauth.NONCE_HEADER], b"{}")
    with pytest.raises(AuthFailed, match="bad signature"):
        first.verify_call("POST", PATH, answer, b"{}")


def test_unsigned_answer_is_refused() -> None:
    first, _ = units()
    with pytest.raises(AuthFailed, match="not signed"):
        first.verify_answer("POST", PATH, "0" * 32, {}, b"{}")


def test_nonce_cache_forgets_only_after_the_window() -> None:
    cache = NonceCache(window_s=10, max_entries=2)
    assert cache.add("a", 100.0, 100.0)
    assert not cache.add("a", 100.0, 109.0)
    assert cache.add("b", 100.0, 100.0)
    assert not cache.add("c", 100.0, 100.0)  # full of live nonces: refuse, never evict
    assert cache.add("c", 111.0, 111.0)  # a and b expired at 110
    assert len(cache) == 1


def test_not_a_pair_unit_has_no_auth() -> None:
    with pytest.raises(ValueError, match="not a unit"):
        PairAuth(KEY, "standalone")
    assert pairauth.partner_name("first") == "second"
    assert pairauth.partner_name("second") == "first"
    assert pairauth.partner_name("standalone") is None


@pytest.mark.parametrize(
    ("redis_url", "partner", "allowed"),
    [
        ("redis://10.0.0.2:6379/0", "10.0.0.2:8080", True),
        ("redis://user:pw@10.0.0.2:6379/0", "10.0.0.2:8080", True),
        ("redis://10.0.0.66:6379/0", "10.0.0.2:8080", False),
        ("redis://127.0.0.1:6379/0", "10.0.0.2:8080", False),
        ("redis://127.0.0.1:6379/0", "127.0.0.12:8080", True),
        ("redis://10.0.0.2:6379/0", "127.0.0.12:8080", False),
        ("redis://[2001:db8::0002]:6379/0", "[2001:db8::2]:8080", True),
        ("redis://[2001:db8::3]:6379/0", "[2001:db8::2]:8080", False),
        ("redis://Unit-B:6379/0", "unit-b:8080", True),
        ("unix:///tmp/redis.sock", "10.0.0.2:8080", False),
        ("", "10.0.0.2:8080", True),
        ("redis://10.0.0.2:6379/0", None, False),
    ],
)
def test_redis_url_must_be_on_the_partner_host(
    redis_url: str, partner: str | None, allowed: bool
) -> None:
    assert redis_on_partner_host(redis_url, partner) is allowed


def test_same_name_unit_with_the_key_is_refused_but_told_apart() -> None:
    """Two processes both configured as ``first``: refused, yet recognisable (same-mode)."""
    clock = Clock()
    me = PairAuth(KEY, "first", sent=NonceCache(), clock=clock)
    twin = PairAuth(KEY, "first", sent=NonceCache(), clock=clock)
    call = twin.sign_call("POST", PATH, BODY)
    with pytest.raises(pairauth.SameName, match="configured as first too"):
        me.verify_call("POST", PATH, call, BODY)
    with pytest.raises(AuthFailed, match="replayed") as replayed:
        me.verify_call("POST", PATH, call, BODY)
    assert type(replayed.value) is AuthFailed


def test_own_call_reflected_is_not_taken_for_a_same_name_unit() -> None:
    me = PairAuth(KEY, "first", sent=NonceCache())
    call = me.sign_call("POST", PATH, BODY)
    with pytest.raises(AuthFailed, match="reflected") as reflected:
        me.verify_call("POST", PATH, call, BODY)
    assert type(reflected.value) is AuthFailed


def test_same_name_needs_the_key_and_the_partner_as_recipient() -> None:
    me = PairAuth(KEY, "first", sent=NonceCache())
    forged = PairAuth("another-key-0123456789", "first", sent=NonceCache())
    with pytest.raises(AuthFailed, match="bad signature") as bad:
        me.verify_call("POST", PATH, forged.sign_call("POST", PATH, BODY), BODY)
    assert type(bad.value) is AuthFailed
    twin = PairAuth(KEY, "first", sent=NonceCache())
    to_self = {**twin.sign_call("POST", PATH, BODY), pairauth.TO_HEADER: "first"}
    with pytest.raises(AuthFailed, match="this unit itself") as itself:
        me.verify_call("POST", PATH, to_self, BODY)
    assert type(itself.value) is AuthFailed
    # an answer is never taken for a same-name call
    answer = twin.sign_answer("POST", PATH, "a" * 32, b"{}")
    with pytest.raises(AuthFailed, match="this unit itself") as as_answer:
        me.verify_answer("POST", PATH, "a" * 32, answer, b"{}")
    assert type(as_answer.value) is AuthFailed
