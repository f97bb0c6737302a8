"""The secret that signs the short-lived sign-in flow cookie (OIDC state, nonce, PKCE verifier).

Taken from the settings when given; otherwise made once and kept beside the other keys, so that
a restart does not break sign-ins that are half-way through.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SESSION_SECRET_FILE = "session-secret.key"  # noqa: S105 -- a file name, not a secret


def load_or_create_session_secret(key_dir: Path) -> str:
    path = key_dir / SESSION_SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    key_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    tmp = path.with_suffix(".tmp")
    # Created 0600 from the start: the secret is never readable by others, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    os.replace(tmp, path)
    return secret
