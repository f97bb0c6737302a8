"""The secret that signs the short-lived sign-in flow cookie (OIDC state, nonce, PKCE verifier).

Taken from the settings when given; otherwise made once and kept beside the other keys, so that
a restart does not break sign-ins that are half-way through.
"""

from __future__ import annotations

from pathlib import Path

from skillvoucher.credentials.secret_files import load_or_create_secret

SESSION_SECRET_FILE = "session-secret.key"  # noqa: S105 -- a file name, not a secret


def load_or_create_session_secret(key_dir: Path) -> str:
    return load_or_create_secret(key_dir, SESSION_SECRET_FILE).hex()
