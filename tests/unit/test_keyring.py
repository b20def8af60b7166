"""The pair keys of a unit during a rotation, and the partner's answer to a rotate call."""

from __future__ import annotations

from hapair.engine.pairlink import pairauth
from hapair.engine.pairlink.rotation import RotateRequest, answer_rotate
from hapair.keyring import GRACE_S, Keyring, key_id
from hapair.store.redis_config import RedisPasswords
from hapair.store.redis_rotation import passwords_for


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_unit_accepts_its_next_key_and_the_replaced_one_for_the_grace() -> None:
    clock = Clock()
    keys = Keyring("old-key-0123456789", "new-key-0123456789", clock=clock)
    assert keys.accepted() == ["old-key-0123456789", "new-key-0123456789"]
    assert keys.rotate() == key_id("new-key-0123456789")
    assert (keys.current, keys.next) == ("new-key-0123456789", None)
    assert keys.accepted() == ["new-key-0123456789", "old-key-0123456789"]
    clock.now += GRACE_S
    assert keys.accepted() == ["new-key-0123456789"]


def test_the_mac_of_either_key_is_accepted_during_a_rotation() -> None:
    keys = Keyring("old-key-0123456789", "new-key-0123456789")
    first = pairauth.PairAuth(keys, "first")
    ch = pairauth.Challenges()
    for signer in ("old-key-0123456789", "new-key-0123456789"):
        call = pairauth.PairAuth(signer, "second").sign_call
        headers = call("POST", "/p", b"x", challenge=ch.issue())
        first.verify_call("POST", "/p", headers, b"x", ch)
    stranger = pairauth.PairAuth("other-key-0123456789", "second")
    headers = stranger.sign_call("POST", "/p", b"x", challenge=ch.issue())
    try:
        first.verify_call("POST", "/p", headers, b"x", ch)
    except pairauth.AuthFailed:
        pass
    else:
        raise AssertionError("a third key must be refused")


def test_the_partner_switches_only_to_the_next_key_named() -> None:
    keys = Keyring("old-key-0123456789", "new-key-0123456789")
    wrong = answer_rotate(keys, RotateRequest(key_id=key_id("another-key-0123456789")))
    assert (wrong.rotated, wrong.next_key_id) == (False, key_id("new-key-0123456789"))
    assert keys.current == "old-key-0123456789"
    done = answer_rotate(keys, RotateRequest(key_id=key_id("new-key-0123456789")))
    assert (done.rotated, done.key_id) == (True, key_id("new-key-0123456789"))
    again = answer_rotate(keys, RotateRequest(key_id=key_id("new-key-0123456789")))
    assert again.rotated  # a repeated call (its answer was lost) finds it done
    assert answer_rotate(None, RotateRequest(key_id="x")).rotated is False


def test_the_redis_passwords_follow_the_keys_and_drop_the_replaced_one_after_the_grace() -> None:
    now = [100.0]
    keys = Keyring("k0" * 8, clock=lambda: now[0])
    changes: list[str | None] = []
    keys.listeners.append(lambda: changes.append(keys.next_id))
    assert passwords_for(keys) == RedisPasswords.derived("k0" * 8)
    keys.set_next("k1" * 8)  # SIGHUP: both keys' passwords accepted, the old one logs in
    assert passwords_for(keys) == RedisPasswords.derived("k0" * 8, "k1" * 8)
    keys.rotate()  # the new one logs in (masterauth), the old one accepted for the grace
    assert passwords_for(keys) == RedisPasswords.derived("k1" * 8, "k0" * 8)
    now[0] += GRACE_S
    assert passwords_for(keys) == RedisPasswords.derived("k1" * 8)
    assert len(changes) == 2  # each change told (the grace's end is the listener's own timer)
    keys.set_next(None)
    keys.set_next(None)  # no change, nothing told
    assert len(changes) == 2
