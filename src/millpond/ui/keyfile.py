"""The installation's key for signing UI sessions: made once, kept in the data directory.

`DATA_DIR/ui-session.key` holds 32 random bytes, created with mode 0600 the first time the UI
needs it (an API-only server never makes one). Deleting the file and restarting signs every
browser out.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
import threading
from pathlib import Path

log = logging.getLogger("millpond.ui")

KEY_FILE = "ui-session.key"
KEY_BYTES = 32


def load_or_create_key(path: Path) -> bytes:
    """The key in `path`, made (atomically, mode 0600) if there is none yet."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(key)
            out.flush()
            os.fsync(out.fileno())
        try:
            # A link never replaces an existing file: if another process won, read its key.
            os.link(partial, path)
        except FileExistsError:
            return _read(path)
    finally:
        partial.unlink(missing_ok=True)
    log.info("made a new key for signing web UI sessions in %s", path)
    return key


def _read(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); made it 0600", path, mode)
        os.chmod(path, 0o600)
    key = path.read_bytes()
    if len(key) < KEY_BYTES:
        raise ValueError(
            f"{path} holds {len(key)} bytes, not a {KEY_BYTES}-byte key; delete it and restart "
            "millpond to make a new one (every browser is then signed out)"
        )
    return key


class KeyHolder:
    """The key of one data directory, read or made on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def key(self) -> bytes:
        if self._key is None:
            with self._lock:
                if self._key is None:
                    self._key = load_or_create_key(self.path)
        return self._key
