"""Staff sign-in (bearer token or browser cookie), the second factor, and who am I."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, SignedIn
from skillvoucher.api.dependencies import Context
from skillvoucher.application.rate_limits import SIGN_IN_PER_CLIENT
from skillvoucher.application.sign_in import IssuedSession, sign_in_staff, sign_out
from skillvoucher.application.staff_accounts import begin_totp_setup, confirm_totp
from skillvoucher.config import Settings
from skillvoucher.domain.access import AccessDenied, Permission, PrincipalKind, Role

router = APIRouter(prefix="/api/v1/auth", tags=["sign-in"])


class SignInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)
    totp_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    cookie: bool = Field(
        default=False, description="Also set an HttpOnly session cookie (for the web portals)."
    )


class SessionOut(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    csrf_token: str = Field(
        description=f"With the cookie, send as `{CSRF_HEADER}` on every change."
    )
    expires_at: datetime
    role: Role


class MeOut(BaseModel):
    kind: PrincipalKind
    role: Role
    label: str
    region_prefix: str
    permissions: list[Permission]


class TotpSetupOut(BaseModel):
    secret: str
    provisioning_uri: str


class TotpConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^\d{6}$")


def session_out(issued: IssuedSession) -> SessionOut:
    return SessionOut(
        token=issued.token,
        csrf_token=issued.csrf_token,
        expires_at=issued.expires_at,
        role=issued.principal.role,
    )


def set_session_cookie(response: Response, issued: IssuedSession, settings: Settings) -> None:
    """The session cookie, and the CSRF cookie the portals' forms are written from."""
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        # Relative, so that a browser with a wrong clock keeps the cookie as long as we do.
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        issued.csrf_token,
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
    )


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


@router.post("/sign-in", response_model=SessionOut)
def sign_in(ctx: Context, body: SignInRequest, request: Request, response: Response) -> SessionOut:
    """Staff sign-in with a password, and the TOTP code when the account has one.

    Five wrong attempts in a row lock the account for a quarter of an hour."""
    client = request.client.host if request.client else "unknown"
    ctx.rate_limiter.check(SIGN_IN_PER_CLIENT, client)
    issued = sign_in_staff(ctx, body.username, body.password, body.totp_code)
    if body.cookie:
        set_session_cookie(response, issued, ctx.settings)
    response.headers["Cache-Control"] = "no-store"
    return session_out(issued)


@router.post("/sign-out", status_code=204)
def sign_out_now(ctx: Context, caller: SignedIn, request: Request, response: Response) -> None:
    """End this session (token or cookie). API keys are revoked instead."""
    session_id = getattr(request.state, "session_id", None)
    if session_id is None:
        raise AccessDenied("an API key is revoked, not signed out")
    sign_out(ctx, session_id)
    clear_session_cookies(response)


@router.get("/me", response_model=MeOut)
def me(caller: SignedIn) -> MeOut:
    """Who the credential belongs to, and what it may do where."""
    return MeOut(
        kind=caller.kind,
        role=caller.role,
        label=caller.label,
        region_prefix=caller.scope.region_prefix,
        permissions=sorted(caller.permissions),
    )


def _staff_only(caller: SignedIn) -> None:
    if caller.kind is not PrincipalKind.STAFF:
        raise AccessDenied("only a staff account has a second factor")


@router.post("/totp", response_model=TotpSetupOut)
def totp_setup(ctx: Context, caller: SignedIn) -> TotpSetupOut:
    """Start setting up a second factor: scan the URI, then confirm with a code."""
    _staff_only(caller)
    setup = begin_totp_setup(ctx.acting_as(caller.label), caller.subject_id)
    return TotpSetupOut(secret=setup.secret, provisioning_uri=setup.provisioning_uri)


@router.post("/totp/confirm", status_code=204)
def totp_confirm(ctx: Context, caller: SignedIn, body: TotpConfirm) -> None:
    """Turn the second factor on; from now on sign-in needs a code."""
    _staff_only(caller)
    confirm_totp(ctx.acting_as(caller.label), caller.subject_id, body.code)
