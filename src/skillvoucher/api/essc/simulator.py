"""The built-in e-SSC simulator: a small OpenID Connect provider for development and the demo.

Mounted at ``/essc-simulator`` only when no real e-SSC issuer is configured, and never in
production (see ``provider.install_essc``). It signs in anyone who types a well-formed resident
ID number; the relying party then refuses people who are not in the registry, exactly as it
would with the real card.

The ID token carries the number in the claim named by ``essc_id_number_claim`` (default
``essc_id_number``) and, as ``sub``, a stable pseudonym that is not the registry's digest.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from joserfc.jwk import ECKey

from skillvoucher.api.essc.simulator_grants import (
    ID_TOKEN_SECONDS,
    Grant,
    Grants,
    GrantStore,
    pkce_matches,
    sign_id_token,
)
from skillvoucher.api.essc.simulator_page import error_page, sign_in_form
from skillvoucher.application.context import AppContext
from skillvoucher.credentials.essc_simulator_key import SIMULATOR_ALG
from skillvoucher.domain.errors import InvalidResidentId
from skillvoucher.domain.identity import parse_resident_id

SIMULATOR_PREFIX = "/essc-simulator"
# A name under .invalid never resolves: the relying party reaches the simulator in-process, and
# if that wiring were ever lost, its requests would fail instead of going anywhere real.
SIMULATOR_ISSUER = "https://essc-simulator.invalid" + SIMULATOR_PREFIX
CALLBACK_ROUTE = "essc_callback"

# The authorization request's parameters that the consent form carries along.
_CARRIED = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
)
_MAX_PARAM = 512

router = APIRouter(prefix=SIMULATOR_PREFIX, include_in_schema=False)


@dataclass
class Simulator:
    client_id: str
    client_secret: str = field(repr=False)
    key: ECKey = field(repr=False)
    id_number_claim: str
    redirect_uri: str | None
    """The registered callback; None means this app's own callback on the requested host."""
    grants: Grants = field(default_factory=GrantStore)

    def jwks(self) -> dict[str, Any]:
        public = self.key.as_dict(private=False)
        return {"keys": [{**public, "kid": self.key.kid, "alg": SIMULATOR_ALG, "use": "sig"}]}


def _simulator(request: Request) -> Simulator:
    simulator: Simulator = request.app.state.essc_simulator
    return simulator


def _carried(params: Mapping[str, Any]) -> dict[str, str]:
    carried = {}
    for name in _CARRIED:
        value = params.get(name)
        if isinstance(value, str) and value:
            carried[name] = value[:_MAX_PARAM]
    return carried


def _redirect_back(redirect_uri: str, **params: str | None) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if "?" in redirect_uri else "?"
    # 303: the browser follows with a GET even when it got here by posting the form.
    return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=303)


def _check_request(request: Request, params: dict[str, str]) -> Response | None:
    """None for an acceptable authorization request, else the answer to give instead."""
    simulator = _simulator(request)
    if not hmac.compare_digest(params.get("client_id", ""), simulator.client_id):
        return error_page("未知的客户端 Unknown client_id")
    expected = simulator.redirect_uri or str(request.url_for(CALLBACK_ROUTE))
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri != expected:
        return error_page("回调地址未登记 The redirect_uri is not registered")
    state = params.get("state")
    if params.get("response_type") != "code":
        return _redirect_back(redirect_uri, error="unsupported_response_type", state=state)
    if "openid" not in params.get("scope", "").split():
        return _redirect_back(redirect_uri, error="invalid_scope", state=state)
    if params.get("code_challenge_method", "S256") != "S256":
        return _redirect_back(redirect_uri, error="invalid_request", state=state)
    return None


@router.get("/.well-known/openid-configuration")
def discovery(request: Request) -> dict[str, Any]:
    """Where the simulator's endpoints are, as seen from the caller."""
    base = str(request.base_url).rstrip("/") + SIMULATOR_PREFIX
    claim = _simulator(request).id_number_claim
    return {
        "issuer": SIMULATOR_ISSUER,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "jwks_uri": f"{base}/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": [SIMULATOR_ALG],
        "scopes_supported": ["openid"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "name", claim],
    }


@router.get("/jwks")
def jwks(request: Request) -> dict[str, Any]:
    return _simulator(request).jwks()


@router.get("/authorize", response_model=None)
def authorize_page(request: Request) -> Response:
    """The consent page: the card holder types their resident ID number."""
    params = _carried(request.query_params)
    return _check_request(request, params) or sign_in_form(params)


@router.post("/authorize", response_model=None)
async def authorize(request: Request) -> Response:
    """The card holder's answer: back to the relying party with a one-time code, or with
    ``access_denied``. The ID number travels only in this form's body, never in a URL."""
    async with request.form(max_files=0, max_fields=20, max_part_size=4096) as form:
        params = _carried(form)
        id_number = str(form.get("id_number") or "")
        name = " ".join(str(form.get("name") or "").split())[:50]
        decision = form.get("decision")
    refused = _check_request(request, params)
    if refused is not None:
        return refused
    redirect_uri, state = params["redirect_uri"], params.get("state")
    if decision != "allow":
        return _redirect_back(redirect_uri, error="access_denied", state=state)
    try:
        resident = parse_resident_id(id_number)
    except InvalidResidentId:
        # Neither the number nor the reason (which may quote its birth-date digits) goes back
        # into the page.
        return sign_in_form(
            params, error="身份证号码无效 Not a valid resident ID number", status=422
        )
    code = _simulator(request).grants.issue(
        Grant(
            client_id=params["client_id"],
            redirect_uri=redirect_uri,
            nonce=params.get("nonce"),
            code_challenge=params.get("code_challenge"),
            id_number=resident.number,
            name=name,
        )
    )
    return _redirect_back(redirect_uri, code=code, state=state)


def _oauth_error(error: str, status: int = 400) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="essc-simulator"'
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _client_credentials(request: Request, form: Mapping[str, Any]) -> tuple[str, str]:
    """client_secret_basic (RFC 6749 2.3.1: form-urlencoded parts) or client_secret_post."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    return str(form.get("client_id") or ""), str(form.get("client_secret") or "")


@router.post("/token")
async def token(request: Request) -> JSONResponse:
    """Exchange a one-time code for an ID token (the code is spent by the first attempt)."""
    simulator = _simulator(request)
    async with request.form(max_files=0, max_fields=20, max_part_size=4096) as form:
        client_id, secret = _client_credentials(request, form)
        fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    if not (
        hmac.compare_digest(client_id, simulator.client_id)
        and hmac.compare_digest(secret, simulator.client_secret)
    ):
        return _oauth_error("invalid_client", 401)
    if fields.get("grant_type") != "authorization_code":
        return _oauth_error("unsupported_grant_type")
    grant = simulator.grants.redeem(fields.get("code", ""))
    if (
        grant is None
        or grant.client_id != client_id
        or grant.redirect_uri != fields.get("redirect_uri")
        or not pkce_matches(grant.code_challenge, fields.get("code_verifier"))
    ):
        return _oauth_error("invalid_grant")
    context: AppContext = request.app.state.context
    id_token = sign_id_token(
        simulator.key,
        issuer=SIMULATOR_ISSUER,
        grant=grant,
        # A pairwise pseudonym: stable per person, and not the registry's own digest.
        subject=context.digest(f"essc-simulator-subject:{grant.id_number}"),
        id_number_claim=simulator.id_number_claim,
        now=simulator.grants.now(),
    )
    body = {
        "access_token": secrets.token_urlsafe(32),
        "token_type": "Bearer",
        "expires_in": ID_TOKEN_SECONDS,
        "scope": "openid",
        "id_token": id_token,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
