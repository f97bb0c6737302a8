"""Wiring the e-SSC into the app: the real provider from settings, or the simulator in-process.

The relying party is Authlib's Starlette client either way, so the code path that validates ID
tokens (signature, issuer, audience, nonce, expiry) is the one production runs. With the
simulator, Authlib's HTTP client gets a transport that calls this same app in-process: the app
never makes a network call to itself, and needs to know neither its host nor its port.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal

from authlib.integrations.starlette_client import OAuth  # type: ignore[import-untyped]
from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from skillvoucher.api.essc import relying_party, simulator
from skillvoucher.api.essc.http_library import authlib_http
from skillvoucher.api.essc.simulator_grants import grant_store_for
from skillvoucher.config import Settings
from skillvoucher.credentials.essc_simulator_key import (
    SIMULATOR_ALG,
    load_or_create_simulator_key,
)
from skillvoucher.credentials.session_secret import load_or_create_session_secret
from skillvoucher.domain.errors import DomainError

SIMULATOR_CLIENT_ID = "skillvoucher-dev"
FLOW_COOKIE = "skillvoucher_essc_flow"
FLOW_SECONDS = 15 * 60
"""How long a person may take at the e-SSC before the callback no longer accepts them."""
HTTP_TIMEOUT_SECONDS = 10


class SimulatorRefused(DomainError):
    code = "simulator_refused"


class EsscNotConfigured(DomainError):
    code = "essc_not_configured"


class FlowSessionMiddleware:
    """Starlette's cookie session, only on the e-SSC sign-in paths (where Authlib keeps the
    flow's state and nonce in it): every other request would parse cookies and wrap its answer
    for a session it never uses."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        path: str,
        secret_key: str,
        session_cookie: str,
        max_age: int,
        same_site: Literal["lax", "strict", "none"],
        https_only: bool,
    ) -> None:
        self.app = app
        self.path = path  # the cookie's path too: the sign-in routes' prefix
        self.sessions = SessionMiddleware(
            app,
            secret_key=secret_key,
            session_cookie=session_cookie,
            max_age=max_age,
            path=path,
            same_site=same_site,
            https_only=https_only,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _route_path(scope).startswith(self.path):
            await self.sessions(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path as the routes see it: without the prefix a proxy may mount the app under."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


@dataclass(frozen=True)
class RelyingParty:
    client: Any
    """Authlib's ``StarletteOAuth2App`` (Authlib ships no type information)."""
    id_number_claim: str
    redirect_uri: str | None


def install_essc(app: FastAPI, settings: Settings) -> None:
    """Add the e-SSC sign-in routes (and the simulator, in development) to ``app``.

    Raises SimulatorRefused in production without ``SKILLVOUCHER_ESSC_ISSUER``, and
    EsscNotConfigured for an issuer without client credentials."""
    if settings.essc_issuer is None:
        if settings.environment == "production":
            raise SimulatorRefused(
                "production refuses the built-in e-SSC simulator: set SKILLVOUCHER_ESSC_ISSUER, "
                "SKILLVOUCHER_ESSC_CLIENT_ID and SKILLVOUCHER_ESSC_CLIENT_SECRET"
            )
        client = _simulated_client(app, settings)
    else:
        client = _real_client(settings, settings.essc_issuer)
    app.state.essc = RelyingParty(client, settings.essc_id_number_claim, settings.essc_redirect_uri)
    secret = (
        settings.session_secret.get_secret_value()
        if settings.session_secret is not None
        else load_or_create_session_secret(settings.resolved_key_dir)
    )
    # Only the e-SSC routes see this cookie, and it lives as long as one sign-in round trip.
    # SameSite=Lax still sends it on the top-level redirect back from the e-SSC.
    app.add_middleware(
        FlowSessionMiddleware,
        secret_key=secret,
        session_cookie=FLOW_COOKIE,
        max_age=FLOW_SECONDS,
        path=relying_party.router.prefix,
        same_site="lax",
        https_only=settings.cookie_secure,
    )
    app.include_router(relying_party.router)


def _real_client(settings: Settings, issuer: str) -> Any:
    if not settings.essc_client_id or settings.essc_client_secret is None:
        raise EsscNotConfigured(
            "SKILLVOUCHER_ESSC_ISSUER needs SKILLVOUCHER_ESSC_CLIENT_ID and "
            "SKILLVOUCHER_ESSC_CLIENT_SECRET"
        )
    return OAuth().register(
        "essc",
        client_id=settings.essc_client_id,
        client_secret=settings.essc_client_secret.get_secret_value(),
        server_metadata_url=f"{issuer.rstrip('/')}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid",
            "code_challenge_method": "S256",
            "timeout": HTTP_TIMEOUT_SECONDS,
        },
    )


def _simulated_client(app: FastAPI, settings: Settings) -> Any:
    key = load_or_create_simulator_key(settings.resolved_key_dir)
    client_id = settings.essc_client_id or SIMULATOR_CLIENT_ID
    # Both ends live in this process, so a secret made afresh at each start is enough.
    client_secret = (
        settings.essc_client_secret.get_secret_value()
        if settings.essc_client_secret is not None
        else secrets.token_urlsafe(32)
    )
    provider = simulator.Simulator(
        client_id=client_id,
        client_secret=client_secret,
        key=key,
        id_number_claim=settings.essc_id_number_claim,
        redirect_uri=settings.essc_redirect_uri,
        grants=grant_store_for(settings.redis_url),
    )
    app.state.essc_simulator = provider
    app.include_router(simulator.router)
    issuer = simulator.SIMULATOR_ISSUER
    return OAuth().register(
        "essc",
        client_id=client_id,
        client_secret=client_secret,
        client_kwargs={
            "scope": "openid",
            "code_challenge_method": "S256",
            "timeout": HTTP_TIMEOUT_SECONDS,
            "transport": authlib_http().ASGITransport(app=app),
        },
        # Explicit metadata, so nothing is discovered over the network. The authorization
        # endpoint is the path the browser follows on whatever host serves the app; the
        # server-to-server ones go through the in-process transport.
        issuer=issuer,
        authorization_endpoint=f"{simulator.SIMULATOR_PREFIX}/authorize",
        token_endpoint=f"{issuer}/token",
        jwks_uri=f"{issuer}/jwks",
        jwks=provider.jwks(),
        id_token_signing_alg_values_supported=[SIMULATOR_ALG],
    )
