"""The writer's memory of recent uploadLogs nonces: compact, and forgotten a minute at a time.

At a few thousand nonce'd requests a second over a 10-minute window this holds millions of
nonces, so each is kept as a 16-byte digest of (account, nonce) — about 91 bytes with the
set's overhead, instead of ~190 for a tuple of int and str in a dict — in one set per minute
of arrival; expiry drops whole minutes. A 128-bit digest makes a false "duplicate" as likely
as guessing a random UUID.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

MINUTE_NS = 60 * 1_000_000_000


def nonce_key(account_id: int, nonce: str) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    h.update(account_id.to_bytes(8, "little", signed=True))
    h.update(nonce.encode("utf-8", "surrogatepass"))
    return h.digest()


class RecentNonces:
    def __init__(self) -> None:
        self._by_minute: dict[int, set[bytes]] = {}

    def __contains__(self, key: bytes) -> bool:
        return any(key in keys for keys in self._by_minute.values())

    def __len__(self) -> int:
        return sum(len(keys) for keys in self._by_minute.values())

    def add_all(self, keys: Iterable[bytes], seen_ns: int) -> None:
        self._by_minute.setdefault(seen_ns // MINUTE_NS, set()).update(keys)

    def expire(self, before_ns: int) -> None:
        """Forget nonces seen before `before_ns` (rounded to whole minutes: kept a bit longer)."""
        cutoff = before_ns // MINUTE_NS
        for minute in [m for m in self._by_minute if m < cutoff]:
            del self._by_minute[minute]
