"""The e-SSC simulator's one-time authorization codes and the ID tokens it signs for them.

Codes live in this process's memory, or in Redis when `SKILLVOUCHER_REDIS_URL` is set. Memory
is enough for one process: a restart forgets the codes in flight (the person clicks "sign in"
again). Behind a load balancer the browser may be handed a code by one process and come back
with it to another, so the processes then share the codes through Redis. The real e-SSC keeps
its own codes; none of this runs in production.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Protocol

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


class Grants(Protocol):
    """One-time codes: each is redeemed at most once, and only before it expires."""

    now: Callable[[], float]

    def issue(self, grant: Grant) -> str: ...

    def redeem(self, code: str) -> Grant | None:
        """The grant behind ``code``, which is spent by asking, whatever the answer."""
        ...


class GrantStore:
    """One-time codes in this process's memory."""

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


class RedisGrantStore:
    """One-time codes in Redis, shared by every process of the deployment. GETDEL hands a code
    to exactly one redeemer however many processes ask at once."""

    def __init__(self, url: str, now: Callable[[], float] = time.time) -> None:
        import redis  # only deployments that configure Redis need the client loaded

        self._redis = redis.Redis.from_url(url, socket_timeout=2)
        self.now = now

    def issue(self, grant: Grant) -> str:
        code = secrets.token_urlsafe(32)
        expiring = replace(grant, expires_at=self.now() + CODE_SECONDS)
        self._redis.set(_redis_key(code), json.dumps(asdict(expiring)), ex=CODE_SECONDS)
        return code

    def redeem(self, code: str) -> Grant | None:
        stored = self._redis.getdel(_redis_key(code))
        if stored is None:
            return None
        grant = Grant(**json.loads(stored))
        return grant if grant.expires_at > self.now() else None


def _redis_key(code: str) -> str:
    # The code's digest names the entry, so the keys Redis lists are no usable codes.
    return "skillvoucher:essc-simulator:code:" + hashlib.sha256(code.encode()).hexdigest()


def grant_store_for(redis_url: str | None) -> Grants:
    return RedisGrantStore(redis_url) if redis_url else GrantStore()


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
