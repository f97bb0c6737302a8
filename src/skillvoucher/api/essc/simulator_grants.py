"""The e-SSC simulator's one-time authorization codes and the ID tokens it signs for them.

Codes live in memory. That is acceptable for a development simulator, and only for one: a
restart forgets the codes in flight (the person clicks "sign in" again), and the one process
that `skillvoucher serve` runs both hands codes out and redeems them. The real e-SSC keeps its
own codes; none of this runs in production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from joserfc import jwt
from joserfc.jwk import ECKey

from skillvoucher.credentials.essc_simulator_key import SIMULATOR_ALG

CODE_SECONDS = 60
ID_TOKEN_SECONDS = 300


@dataclass(frozen=True)
class Grant:
    """What a card holder agreed to at the simulator's authorize page."""

    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None
    # Left out of repr, so that logging a grant does not log the number.
    id_number: str = field(repr=False)
    name: str = field(repr=False)
    expires_at: float = 0.0


class GrantStore:
    """One-time codes: each is redeemed at most once, and only before it expires."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        # Wall-clock seconds, not the app's clock: codes and ID tokens are checked by Authlib
        # against the real time, whatever date a test or a demo pretends it is.
        self.now = now
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def issue(self, grant: Grant) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            now = self.now()
            for stale in [c for c, g in self._grants.items() if g.expires_at <= now]:
                del self._grants[stale]
            self._grants[code] = Grant(
                grant.client_id,
                grant.redirect_uri,
                grant.nonce,
                grant.code_challenge,
                grant.id_number,
                grant.name,
                expires_at=now + CODE_SECONDS,
            )
        return code

    def redeem(self, code: str) -> Grant | None:
        """The grant behind ``code``, which is spent by asking, whatever the answer."""
        with self._lock:
            grant = self._grants.pop(code, None)
        if grant is None or grant.expires_at <= self.now():
            return None
        return grant


def pkce_matches(challenge: str | None, verifier: str | None) -> bool:
    """RFC 7636 S256: with a challenge a matching verifier is required; without one, none may
    be sent (a verifier nobody asked for means the client and the code do not belong together)."""
    if challenge is None:
        return verifier is None
    if verifier is None:
        return False
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(expected, challenge)


def sign_id_token(
    key: ECKey,
    *,
    issuer: str,
    grant: Grant,
    subject: str,
    id_number_claim: str,
    now: float,
) -> str:
    """An OpenID Connect ID token for ``grant``, signed with the simulator's key."""
    issued_at = int(now)
    claims: dict[str, object] = {
        "iss": issuer,
        "aud": grant.client_id,
        "sub": subject,
        "iat": issued_at,
        "auth_time": issued_at,
        "exp": issued_at + ID_TOKEN_SECONDS,
        id_number_claim: grant.id_number,
    }
    if grant.nonce is not None:
        claims["nonce"] = grant.nonce
    if grant.name:
        claims["name"] = grant.name
    header = {"alg": SIMULATOR_ALG, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, key, algorithms=[SIMULATOR_ALG])
