"""Pages every visitor sees: the start page, staff sign-in (workers go to the e-SSC), sign-out
and the language switch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from skillvoucher.api.dependencies import Context
from skillvoucher.api.routers.auth import clear_session_cookies, set_session_cookie
from skillvoucher.application.rate_limits import SIGN_IN_PER_CLIENT
from skillvoucher.application.sign_in import sign_in_staff, sign_out
from skillvoucher.domain.errors import DomainError
from skillvoucher.web.demo_accounts import demo_accounts
from skillvoucher.web.forms import FormInvalid, error_sentence, parse_form
from skillvoucher.web.i18n import LANGUAGE_COOKIE, LANGUAGES, request_language
from skillvoucher.web.session import (
    HOME_BY_ROLE,
    MaybeVisitor,
    safe_next,
)
from skillvoucher.web.templating import render

router = APIRouter(include_in_schema=False)


class StaffSignIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    username: str = Field(min_length=1, max_length=60)
    password: str = Field(min_length=1, max_length=200)
    totp_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    next: str | None = None


@router.get("/")
def start(visitor: MaybeVisitor) -> Response:
    if visitor is None:
        return RedirectResponse("/sign-in", status_code=303)
    return RedirectResponse(HOME_BY_ROLE[visitor.role], status_code=303)


def _sign_in_page(
    request: Request,
    ctx: Context,
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    username: str = "",
    next_path: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "sign_in.html",
        {
            "errors": errors or {},
            "error": error,
            "username": username,
            "next": next_path,
            "demo": demo_accounts(ctx.settings),
        },
        status_code=status_code,
    )


@router.get("/sign-in")
def sign_in_page(request: Request, ctx: Context, next: str | None = None) -> Response:
    return _sign_in_page(request, ctx, next_path=safe_next(next))


@router.post("/sign-in")
async def sign_in_submit(request: Request, ctx: Context) -> Response:
    language = request_language(request)
    form = await request.form()
    username = str(form.get("username", ""))
    next_path = safe_next(str(form.get("next", "")))
    try:
        data = parse_form(StaffSignIn, form, language)
        client = request.client.host if request.client else "unknown"
        ctx.rate_limiter.check(SIGN_IN_PER_CLIENT, client)
        issued = await run_in_threadpool(
            sign_in_staff, ctx, data.username, data.password, data.totp_code
        )
    except FormInvalid as invalid:
        return _sign_in_page(
            request,
            ctx,
            errors=invalid.errors,
            username=username,
            next_path=next_path,
            status_code=422,
        )
    except DomainError as failure:
        return _sign_in_page(
            request,
            ctx,
            error=error_sentence(failure, language),
            username=username,
            next_path=next_path,
            status_code=401 if failure.code != "rate_limited" else 429,
        )
    answer = RedirectResponse(next_path or HOME_BY_ROLE[issued.principal.role], status_code=303)
    set_session_cookie(answer, issued, ctx.settings)
    return answer


@router.post("/sign-out")
def sign_out_submit(request: Request, ctx: Context, visitor: MaybeVisitor) -> Response:
    session_id = getattr(request.state, "page_session_id", None)
    if visitor is not None and session_id is not None:
        sign_out(ctx, session_id)
    answer = RedirectResponse("/sign-in", status_code=303)
    clear_session_cookies(answer)
    return answer


@router.post("/language")
def choose_language(lang: Annotated[str, Form()], next: Annotated[str, Form()] = "/") -> Response:
    answer = RedirectResponse(safe_next(next) or "/", status_code=303)
    if lang in LANGUAGES:
        answer.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return answer
