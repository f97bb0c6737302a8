"""Secrets kept as files beside the signing keys, outside the database: made once, 0600 from the
moment they exist (never readable by others, not even briefly), and read back on restart."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create_secret(key_dir: Path, file_name: str) -> bytes:
    """The 32 random bytes kept in ``key_dir/file_name`` (hex), made on first use."""
    path = key_dir / file_name
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    key_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secret.hex())
    os.replace(tmp, path)
    return secret
