"""The registry's digest key: resident ID numbers are stored only as keyed digests.

A keyed digest (HMAC-SHA256) rather than a plain hash, because the space of ID numbers is small
enough to enumerate: without the key, a copy of the database reveals no ID number.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from skillvoucher.credentials.secret_files import load_or_create_secret

DIGEST_KEY_FILE = "registry-digest.key"


def load_or_create_digest_key(key_dir: Path) -> bytes:
    return load_or_create_secret(key_dir, DIGEST_KEY_FILE)


def keyed_digest(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
