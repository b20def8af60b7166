"""The unit-to-unit MAC, challenges, the nonce window and the Redis host rule
(engine/pairlink/pairauth.py)."""

from __future__ import annotations

import pytest

from hapair.engine.pairlink import pairauth
from hapair.engine.pairlink.pairauth import (
    AuthFailed,
    Challenges,
    NonceCache,
    PairAuth,
    pair_id,
    redis_on_partner_host,
)

KEY = "pair-key-0123456789abcdef"
PATH = "/internal/v1/heartbeat"
BODY = b'{"unit":"second","role":"active"}'
PAIR = pair_id("127.0.0.10:8080", 10)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def units(wall: Clock | None = None) -> tuple[PairAuth, PairAuth]:
    c = wall or Clock()
    return PairAuth(KEY, "first", pair=PAIR, clock=c), PairAuth(KEY, "second", pair=PAIR, clock=c)


def reason(exc: pytest.ExceptionInfo[AuthFailed]) -> str:
    return exc.value.reason


def test_call_from_partner_is_accepted_once() -> None:
    first, second = units()
    ch = Challenges()
    headers = second.sign_call("POST", PATH, BODY, challenge=ch.issue())
    assert first.verify_call("POST", PATH, headers, BODY, ch) == headers[pairauth.NONCE_HEADER]
    with pytest.raises(AuthFailed) as exc:
        first.verify_call("POST", PATH, headers, BODY, ch)
    assert reason(exc) == "replayed"


def test_call_without_a_challenge_of_this_boot_is_refused() -> None:
    """No challenge, one another boot issued, or one out of the window: refused."""
    first, second = units()
    mono = Clock(500.0)
    ch = Challenges(clock=mono)
    for challenge in ("", Challenges().issue()):
        with pytest.raises(AuthFailed) as exc:
            first.verify_call(
                "POST", PATH, second.sign_call("POST", PATH, BODY, challenge=challenge), BODY, ch
            )
        assert reason(exc) == "challenge"
    old = ch.issue()
    mono.now += 10.5
    with pytest.raises(AuthFailed) as exc:
        first.verify_call(
            "POST", PATH, second.sign_call("POST", PATH, BODY, challenge=old), BODY, ch
        )
    assert reason(exc) == "challenge"


@pytest.mark.parametrize("skew", [30.0, -300.0, 86400.0])
def test_call_from_a_skewed_clock_is_accepted(skew: float) -> None:
    """Freshness is the recipient's challenge: the two wall clocks need not agree."""
    wall = Clock()
    first, _ = units(wall)
    sender = PairAuth(KEY, "second", pair=PAIR, clock=Clock(wall.now + skew))
    ch = Challenges()
    call = sender.sign_call("POST", PATH, BODY, challenge=ch.issue())
    first.verify_call("POST", PATH, call, BODY, ch)
    answer = first.sign_answer("POST", PATH, call[pairauth.NONCE_HEADER], b"{}")
    sender.verify_answer("POST", PATH, call[pairauth.NONCE_HEADER], answer, b"{}")


def test_call_unsigned_or_under_another_key_is_refused() -> None:
    first, _ = units()
    ch = Challenges()
    with pytest.raises(AuthFailed) as exc:
        first.verify_call("POST", PATH, {}, BODY, ch)
    assert reason(exc) == "unsigned"
    other = PairAuth("another-key-0123456789", "second", pair=PAIR)
    forged = other.sign_call("POST", PATH, BODY, challenge=ch.issue())
    with pytest.raises(AuthFailed, match="another pair key") as exc:
        first.verify_call("POST", PATH, forged, BODY, ch)
    assert reason(exc) == "another-pair-key"


def test_call_of_another_pair_sharing_the_key_is_refused() -> None:
    first, _ = units()
    ch = Challenges()
    for other_pair in (pair_id("127.0.0.20:8080", 20), pair_id("127.0.0.10:8080", 11)):
        other = PairAuth(KEY, "second", pair=other_pair)
        with pytest.raises(AuthFailed, match="another pair") as exc:
            first.verify_call(
                "POST", PATH, other.sign_call("POST", PATH, BODY, challenge=ch.issue()), BODY, ch
            )
        assert reason(exc) == "another-pair"
    # relabelled with this pair's id: the MAC covers it
    other = PairAuth(KEY, "second", pair=pair_id("127.0.0.20:8080", 20))
    call = {**other.sign_call("POST", PATH, BODY, challenge=ch.issue()), pairauth.PAIR_HEADER: PAIR}
    with pytest.raises(AuthFailed) as exc:
        first.verify_call("POST", PATH, call, BODY, ch)
    assert reason(exc) == "bad-signature"


@pytest.mark.parametrize(
    "value", ["\u00e9" * 64, "zz" * 32, "a" * 63, "ä", "0" * 64 + "\n", "\x00" * 64]
)
@pytest.mark.parametrize(
    "header",
    [pairauth.SIGNATURE_HEADER, pairauth.NONCE_HEADER, pairauth.KEY_HEADER, pairauth.PAIR_HEADER],
)
def test_malformed_signature_headers_are_refused_by_reason(header: str, value: str) -> None:
    """Non-ASCII or malformed: a refusal with a fixed reason, never another exception."""
    first, second = units()
    ch = Challenges()
    headers = {**second.sign_call("POST", PATH, BODY, challenge=ch.issue()), header: value}
    with pytest.raises(AuthFailed) as exc:
        first.verify_call("POST", PATH, headers, BODY, ch)
    assert reason(exc) == "malformed-signature"
    with pytest.raises(AuthFailed) as exc:
        first.verify_answer("POST", PATH, headers[pairauth.NONCE_HEADER], headers, BODY)
    assert reason(exc) in ("malformed-signature", "from-self", "not-bound")


@pytest.mark.parametrize(
    ("field", "value"),
    [("method", "PUT"), ("path", "/internal/v1/demote"), ("body", b'{"role":"standby"}')],
)
def test_call_altered_in_transit_is_refused(field: str, value: object) -> None:
    first, second = units()
    ch = Challenges()
    headers = second.sign_call("POST", PATH, BODY, challenge=ch.issue())
    args: dict[str, object] = {"method": "POST", "path": PATH, "body": BODY, field: value}
    with pytest.raises(AuthFailed, match="bad signature"):
        first.verify_call(args["method"], args["path"], headers, args["body"], ch)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "header", [pairauth.TIMESTAMP_HEADER, pairauth.NONCE_HEADER, pairauth.CHALLENGE_HEADER]
)
def test_call_with_a_changed_timestamp_nonce_or_challenge_is_refused(header: str) -> None:
    first, second = units()
    ch = Challenges()
    headers = second.sign_call("POST", PATH, BODY, challenge=ch.issue())
    headers[header] = {
        pairauth.TIMESTAMP_HEADER: "1800000001.000",
        pairauth.NONCE_HEADER: "0" * 32,
        pairauth.CHALLENGE_HEADER: ch.issue(),
    }[header]
    with pytest.raises(AuthFailed, match="bad signature"):
        first.verify_call("POST", PATH, headers, BODY, ch)


def test_call_claiming_to_come_from_this_unit_is_refused() -> None:
    first, _ = units()
    ch = Challenges()
    # signed with the right key, by a process that calls itself "first" (a reflected call)
    own = first.sign_call("POST", PATH, BODY, challenge=ch.issue())
    with pytest.raises(AuthFailed, match="this unit itself"):
        first.verify_call("POST", PATH, own, BODY, ch)


def test_call_addressed_to_the_partner_is_refused() -> None:
    """The partner's call to us, replayed to the partner itself: not addressed to it."""
    _, second = units()
    ch = Challenges()
    to_first = second.sign_call("POST", PATH, BODY, challenge=ch.issue())
    with pytest.raises(AuthFailed, match="this unit itself"):
        second.verify_call("POST", PATH, to_first, BODY, ch)
    tampered = {**to_first, pairauth.TO_HEADER: "second", pairauth.FROM_HEADER: "first"}
    with pytest.raises(AuthFailed, match="bad signature"):
        second.verify_call("POST", PATH, tampered, BODY, ch)


def test_call_from_an_unknown_sender_is_refused() -> None:
    first, second = units()
    ch = Challenges()
    headers = {
        **second.sign_call("POST", PATH, BODY, challenge=ch.issue()),
        pairauth.FROM_HEADER: "third",
    }
    with pytest.raises(AuthFailed, match="not from the partner"):
        first.verify_call("POST", PATH, headers, BODY, ch)
    headers = {
        **second.sign_call("POST", PATH, BODY, challenge=ch.issue()),
        pairauth.TO_HEADER: "third",
    }
    with pytest.raises(AuthFailed, match="not addressed to this unit"):
        first.verify_call("POST", PATH, headers, BODY, ch)


def test_answer_is_bound_to_its_call() -> None:
    first, second = units()
    ch = Challenges()
    call = first.sign_call("POST", PATH, BODY, challenge=ch.issue())
    nonce = second.verify_call("POST", PATH, call, BODY, ch)
    nxt = ch.issue()
    answer = second.sign_answer("POST", PATH, nonce, b"{}", challenge=nxt)
    assert first.verify_answer("POST", PATH, call[pairauth.NONCE_HEADER], answer, b"{}") == nxt
    other_call = first.sign_call("POST", PATH, BODY)
    with pytest.raises(AuthFailed, match="not bound"):
        first.verify_answer("POST", PATH, other_call[pairauth.NONCE_HEADER], answer, b"{}")
    with pytest.raises(AuthFailed, match="bad signature"):
        first.verify_answer("POST", "/internal/v1/demote", nonce, answer, b"{}")


def test_answer_cannot_be_replayed_as_a_call() -> None:
    first, second = units()
    ch = Challenges()
    call = first.sign_call("POST", PATH, BODY, challenge=ch.issue())
    answer = second.sign_answer("POST", PATH, call[pairauth.NONCE_HEADER], b"{}")
    with pytest.raises(AuthFailed, match="bad signature"):
        first.verify_call("POST", PATH, answer, b"{}", ch)


def test_unsigned_answer_is_refused() -> None:
    first, _ = units()
    with pytest.raises(AuthFailed, match="not signed"):
        first.verify_answer("POST", PATH, "0" * 32, {}, b"{}")


def test_a_second_key_verifies_and_the_first_signs() -> None:
    """Two keys (a rotation): the first signs, both verify."""
    ch = Challenges()
    both = PairAuth([KEY, "next-key-0123456789abcdef"], "first", pair=PAIR)
    old = PairAuth(KEY, "second", pair=PAIR)
    new = PairAuth("next-key-0123456789abcdef", "second", pair=PAIR)
    for sender in (old, new):
        both.verify_call(
            "POST", PATH, sender.sign_call("POST", PATH, BODY, challenge=ch.issue()), BODY, ch
        )
    assert both.key_id == old.key_id != new.key_id


def test_challenges_are_bounded() -> None:
    ch = Challenges(max_entries=3)
    first = ch.issue()
    later = [ch.issue() for _ in range(3)]
    assert ch.expiry(first) is None
    assert all(ch.expiry(c) is not None for c in later)


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
    ch = Challenges()
    me = PairAuth(KEY, "first", pair=PAIR, sent=NonceCache())
    twin = PairAuth(KEY, "first", pair=PAIR, sent=NonceCache())
    call = twin.sign_call("POST", PATH, BODY, challenge=ch.issue())
    with pytest.raises(pairauth.SameName, match="configured as first too"):
        me.verify_call("POST", PATH, call, BODY, ch)
    with pytest.raises(AuthFailed, match="replayed") as replayed:
        me.verify_call("POST", PATH, call, BODY, ch)
    assert type(replayed.value) is AuthFailed


def test_own_call_reflected_is_not_taken_for_a_same_name_unit() -> None:
    ch = Challenges()
    me = PairAuth(KEY, "first", pair=PAIR, sent=NonceCache())
    call = me.sign_call("POST", PATH, BODY, challenge=ch.issue())
    with pytest.raises(AuthFailed, match="reflected") as reflected:
        me.verify_call("POST", PATH, call, BODY, ch)
    assert type(reflected.value) is AuthFailed


def test_same_name_needs_the_key_and_the_partner_as_recipient() -> None:
    ch = Challenges()
    me = PairAuth(KEY, "first", pair=PAIR, sent=NonceCache())
    forged = PairAuth("another-key-0123456789", "first", pair=PAIR, sent=NonceCache())
    with pytest.raises(AuthFailed, match="another pair key") as bad:
        me.verify_call(
            "POST", PATH, forged.sign_call("POST", PATH, BODY, challenge=ch.issue()), BODY, ch
        )
    assert type(bad.value) is AuthFailed
    twin = PairAuth(KEY, "first", pair=PAIR, sent=NonceCache())
    to_self = {
        **twin.sign_call("POST", PATH, BODY, challenge=ch.issue()),
        pairauth.TO_HEADER: "first",
    }
    with pytest.raises(AuthFailed, match="this unit itself") as itself:
        me.verify_call("POST", PATH, to_self, BODY, ch)
    assert type(itself.value) is AuthFailed
    # an answer is never taken for a same-name call
    answer = twin.sign_answer("POST", PATH, "a" * 32, b"{}")
    with pytest.raises(AuthFailed, match="this unit itself") as as_answer:
        me.verify_answer("POST", PATH, "a" * 32, answer, b"{}")
    assert type(as_answer.value) is AuthFailed
