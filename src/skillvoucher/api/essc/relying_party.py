"""Worker sign-in with the e-SSC: this app as an OpenID Connect relying party (Authlib).

``sign-in`` sends the browser to the e-SSC with a fresh state, nonce and PKCE challenge (kept
in a signed, short-lived cookie); ``callback`` exchanges the one-time code, has Authlib verify
the ID token, and starts a worker session for the card holder the registry knows.

Nothing here logs or echoes the resident ID number: it arrives inside the ID token, server to
server, and leaves only as a keyed digest for the registry lookup.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from authlib.integrations.base_client import OAuthError  # type: ignore[import-untyped]
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool

from skillvoucher.api.dependencies import Context
from skillvoucher.api.essc.http_library import provider_failures
from skillvoucher.api.problems import PROBLEM_JSON
from skillvoucher.api.routers.auth import SessionOut, session_out, set_session_cookie
from skillvoucher.application.worker_identity import (
    EsscSignInFailed,
    EsscUnavailable,
    sign_in_card_holder,
)

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/auth/essc", tags=["sign-in"])

WORKER_PORTAL = "/worker"
_SAFE_ERROR = re.compile(r"[a-z_]{1,40}")
_UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    502: {
        "description": "The e-SSC could not be reached or answered nonsense",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}


def _relying_party(request: Request) -> Any:
    return request.app.state.essc


@router.get(
    "/sign-in",
    status_code=302,
    response_class=RedirectResponse,
    responses={302: {"description": "To the e-SSC's sign-in page"}, **_UNAVAILABLE},
)
async def essc_sign_in(request: Request) -> RedirectResponse:
    """Start a worker's sign-in with the electronic social security card (电子社保卡登录).

    Redirects the browser to the e-SSC; after the card holder agrees there, the e-SSC sends the
    browser back to `/api/v1/auth/essc/callback`."""
    rp = _relying_party(request)
    redirect_uri = rp.redirect_uri or str(request.url_for("essc_callback"))
    try:
        answer: RedirectResponse = await rp.client.authorize_redirect(request, redirect_uri)
    except provider_failures() as error:
        logger.warning("e-SSC discovery failed: %s", type(error).__name__)
        raise EsscUnavailable("the e-SSC cannot be reached; try again later") from None
    answer.headers["Cache-Control"] = "no-store"
    return answer


@router.get("/callback", name="essc_callback", response_model=SessionOut, responses=_UNAVAILABLE)
async def essc_callback(request: Request, response: Response, ctx: Context) -> Any:
    """Where the e-SSC sends the browser back (query `code` and `state`, or `error`).

    Answers like staff sign-in: a bearer token and CSRF token, and the HttpOnly session cookie;
    a browser (Accept: text/html) is sent on to the worker portal with the cookies instead.
    401 `essc_sign_in_failed` when the round trip does not prove who this is (wrong or reused
    state or code, refused consent, an ID token that does not verify); 403
    `card_holder_not_registered` for a card holder the voucher registry does not know."""
    rp = _relying_party(request)
    try:
        token = await rp.client.authorize_access_token(request)
    except OAuthError as error:
        reason = error.error if _SAFE_ERROR.fullmatch(str(error.error)) else "provider_error"
        logger.info("e-SSC sign-in refused: %s", reason)
        raise EsscSignInFailed(
            f"the e-SSC sign-in did not complete ({reason}); start again"
        ) from None
    except JoseError as error:
        logger.warning("e-SSC ID token rejected: %s", type(error).__name__)
        raise EsscSignInFailed("the e-SSC's ID token does not verify; start again") from None
    except provider_failures() as error:
        logger.warning("e-SSC token exchange failed: %s", type(error).__name__)
        raise EsscUnavailable("the e-SSC cannot be reached; try again later") from None
    claims = token.get("userinfo") or {}
    id_number = claims.get(rp.id_number_claim)
    if not isinstance(id_number, str) or not id_number:
        raise EsscSignInFailed("the e-SSC did not say who the card holder is")
    issued = await run_in_threadpool(sign_in_card_holder, ctx, id_number)
    if "text/html" in request.headers.get("accept", ""):
        # A person's browser coming back from the e-SSC: on to the worker portal.
        browser = RedirectResponse(WORKER_PORTAL, status_code=303)
        set_session_cookie(browser, issued, ctx.settings)
        browser.headers["Cache-Control"] = "no-store"
        return browser
    set_session_cookie(response, issued, ctx.settings)
    response.headers["Cache-Control"] = "no-store"
    return session_out(issued)
