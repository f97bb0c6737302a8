"""Who is looking at a page: the same session cookie as the API, and a CSRF token for forms.

At sign-in the app sets two cookies: ``sv_session`` (HttpOnly, the session token) and
``sv_csrf`` (the session's CSRF token). Pages put the CSRF token into every form and into
htmx's request headers; a change is accepted only when it echoes the token, which a page on
another site cannot read. A page that needs a signed-in person sends everyone else to the
sign-in page, remembering where they were going (a local path, never personal data).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse

from skillvoucher.api.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from skillvoucher.api.dependencies import Context
from skillvoucher.application.sign_in import csrf_matches, resolve_session
from skillvoucher.domain.access import AccessDenied, NotAuthenticated, Permission, Principal, Role

CSRF_FIELD = "csrf_token"

# Where each role lands after signing in.
HOME_BY_ROLE = {
    Role.WORKER: "/worker",
    Role.INSTITUTION_STAFF: "/institution",
    Role.ENTERPRISE_HR: "/enterprise",
    Role.CITY_ADMIN: "/admin",
    Role.PROVINCE_ADMIN: "/admin",
    Role.AUDITOR: "/admin",
    Role.NATIONAL_STATISTICIAN: "/dashboard",
}


class SignInNeeded(Exception):
    """The page needs a signed-in person; the handler redirects to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRejected(Exception):
    """A change to a page arrived without the session's CSRF token."""


def principal_of(request: Request) -> Principal | None:
    """The signed-in person of this request, once a page dependency has looked."""
    principal: Principal | None = getattr(request.state, "page_principal", None)
    return principal


def csrf_token_of(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE, "")


def safe_next(path: str | None) -> str | None:
    """``path`` when it is a path on this site; never an absolute URL (no open redirect)."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return None


def sign_in_redirect(request: Request) -> RedirectResponse:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"/sign-in?next={quote(target, safe='/')}", status_code=303)


async def _page_principal(request: Request, ctx: Context) -> Principal | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        resolved = resolve_session(ctx, token)
    except NotAuthenticated:
        return None
    if request.method not in ("GET", "HEAD"):
        sent = request.headers.get(CSRF_HEADER)
        if sent is None:
            form = await request.form()
            field = form.get(CSRF_FIELD)
            sent = field if isinstance(field, str) else None
        if not csrf_matches(resolved, sent):
            raise CsrfRejected
    request.state.page_principal = resolved.principal
    request.state.page_session_id = resolved.session_id
    return resolved.principal


def _signed_in(
    request: Request, principal: Annotated[Principal | None, Depends(_page_principal)]
) -> Principal:
    if principal is None:
        raise SignInNeeded(request.url.path)
    return principal


MaybeVisitor = Annotated[Principal | None, Depends(_page_principal)]
Visitor = Annotated[Principal, Depends(_signed_in)]


class PageRole:
    """A page for some roles only: others signed in get a 403 page in their language."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    def __call__(self, principal: Visitor) -> Principal:
        if principal.role not in self.roles:
            raise AccessDenied(f"{principal.role.value} may not open this page")
        return principal


class PagePermission:
    """A page for holders of one permission (scope still applies inside the use case)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __call__(self, principal: Visitor) -> Principal:
        principal.require(self.permission)
        return principal


def for_roles(*roles: Role) -> object:
    return Depends(PageRole(*roles))


def with_permission(permission: Permission) -> object:
    return Depends(PagePermission(permission))
