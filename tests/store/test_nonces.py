"""The writer's compact memory of recent nonces."""

from __future__ import annotations

from millpond.store.nonces import MINUTE_NS, RecentNonces, nonce_key


def test_keys_are_per_account_and_per_nonce() -> None:
    assert nonce_key(1, "abc") == nonce_key(1, "abc")
    assert nonce_key(1, "abc") != nonce_key(2, "abc")
    assert nonce_key(1, "abc") != nonce_key(1, "abd")
    assert len(nonce_key(1, "x" * 10_000)) == 16


def test_remembers_until_expired_a_minute_at_a_time() -> None:
    nonces = RecentNonces()
    t0 = 1_000 * MINUTE_NS
    nonces.add_all([nonce_key(1, "a")], t0)
    nonces.add_all([nonce_key(1, "b")], t0 + 2 * MINUTE_NS)
    assert nonce_key(1, "a") in nonces and nonce_key(1, "b") in nonces
    assert nonce_key(1, "c") not in nonces
    assert len(nonces) == 2

    nonces.expire(t0 + MINUTE_NS // 2)  # "a" is not yet a whole minute past: kept
    assert nonce_key(1, "a") in nonces
    nonces.expire(t0 + MINUTE_NS)
    assert nonce_key(1, "a") not in nonces
    assert nonce_key(1, "b") in nonces
    assert len(nonces) == 1
