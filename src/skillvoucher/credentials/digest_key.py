"""The registry's digest key: resident ID numbers are stored only as keyed digests.

A keyed digest (HMAC-SHA256) rather than a plain hash, because the space of ID numbers is small
enough to enumerate: without the key, a copy of the database reveals no ID number.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

DIGEST_KEY_FILE = "registry-digest.key"


def load_or_create_digest_key(key_dir: Path) -> bytes:
    path = key_dir / DIGEST_KEY_FILE
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    key_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex())
    os.replace(tmp, path)
    return key


def keyed_digest(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
