"""Who is calling: a bearer token (a staff or worker session, or a partner's API key) or a
browser session cookie, whose mutating requests must echo the CSRF token.

Route handlers ask for a permission, ``caller: Annotated[Principal, Allowed(P.VOUCHER_READ)]``,
and receive the principal; they pass it to the use case, which applies its scope.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from skillvoucher.api.dependencies import Context
from skillvoucher.application.api_keys import API_KEY_PREFIX, resolve_api_key
from skillvoucher.application.context import AppContext
from skillvoucher.application.sign_in import (
    ResolvedSession,
    csrf_matches,
    resolve_session,
)
from skillvoucher.domain.access import AccessDenied, NotAuthenticated, Permission, Principal

SESSION_COOKIE = "sv_session"
CSRF_COOKIE = "sv_csrf"
"""The session's CSRF token, HttpOnly: the portals' server writes it into each form."""
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Declared for OpenAPI ("Authorize" in /docs); auto_error off so that a missing credential
# becomes our own 401 problem, not FastAPI's bare 403.
_bearer = HTTPBearer(
    auto_error=False,
    description="A session token (svs_…) from /api/v1/auth/sign-in or an API key (svk_…).",
)
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="Browser session.")


def _principal(
    request: Request,
    ctx: Context,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal | None:
    if bearer is not None:
        token = bearer.credentials
        if token.startswith(API_KEY_PREFIX):
            principal = resolve_api_key(ctx, token)
        else:
            resolved = resolve_session(ctx, token)
            principal = resolved.principal
            request.state.session_id = resolved.session_id
    elif cookie is not None:
        resolved = resolve_session(ctx, cookie)
        _require_csrf(request, resolved)
        principal = resolved.principal
        request.state.session_id = resolved.session_id
    else:
        return None
    request.state.principal = principal
    return principal


def _require_csrf(request: Request, resolved: ResolvedSession) -> None:
    # A cookie rides along on cross-site requests; the CSRF token, which only our own pages can
    # read, proves the request came from them.
    if request.method not in SAFE_METHODS and not csrf_matches(
        resolved, request.headers.get(CSRF_HEADER)
    ):
        raise AccessDenied(f"the {CSRF_HEADER} header is missing or wrong")


# The dependencies below only look at what ``_principal`` found: they are async, so that FastAPI
# runs them on the event loop instead of handing each to a worker thread (a thread hop per
# dependency per request, and the GIL handed over each time). ``_principal`` reads the database
# and stays a plain function, run in a worker thread.


async def signed_in(principal: Annotated[Principal | None, Depends(_principal)]) -> Principal:
    if principal is None:
        raise NotAuthenticated("sign in, or send a bearer token or API key")
    return principal


MaybeSignedIn = Annotated[Principal | None, Depends(_principal)]
SignedIn = Annotated[Principal, Depends(signed_in)]


class PermissionCheck:
    """A dependency giving the signed-in principal if it holds ``permission``; the permission
    stays readable on the route, which is how the role-matrix test finds what each route needs."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, principal: SignedIn) -> Principal:
        principal.require(self.permission)
        return principal


def Allowed(permission: Permission) -> Any:  # capitalised: it reads as a type in annotations
    return Depends(PermissionCheck(permission))


async def acting_context(ctx: Context, principal: SignedIn) -> AppContext:
    """The application context with the principal named as the actor in the audit trail."""
    return ctx.acting_as(principal.label)


Acting = Annotated[AppContext, Depends(acting_context)]
