"""Errors as RFC 9457 problem details, mapped from domain errors in one table.

The domain knows nothing of HTTP: each error class has a stable machine code; here each class
gets its status, and each code a title in Chinese and English (chosen by Accept-Language).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from skillvoucher.application.idempotency import IdempotencyKeyReused, IdempotentRequestInFlight
from skillvoucher.application.rate_limits import RateLimited
from skillvoucher.application.worker_identity import EsscUnavailable
from skillvoucher.domain import errors as e
from skillvoucher.domain.access import AccessDenied, NotAuthenticated
from skillvoucher.persistence.database import DatabaseUnavailable
from skillvoucher.persistence.migrate import DatabaseNotReady

PROBLEM_JSON = "application/problem+json"
DATABASE_RETRY_SECONDS = 5
"""What a 503 for a broken database connection tells the client to wait: a restart's length."""

# Most specific first: the first class an error is an instance of decides its status.
STATUS_BY_ERROR: tuple[tuple[type[e.DomainError], int], ...] = (
    (DatabaseNotReady, 503),
    (DatabaseUnavailable, 503),
    (EsscUnavailable, 502),
    (NotAuthenticated, 401),
    (RateLimited, 429),
    (e.PayloadTooLarge, 413),
    (IdempotencyKeyReused, 422),
    (IdempotentRequestInFlight, 409),
    (AccessDenied, 403),
    (e.NotFound, 404),
    (e.CredentialError, 422),
    (e.InvalidInput, 422),
    (e.NotEligible, 422),
    (e.AlreadyExists, 409),
    (e.AlreadyEnrolled, 409),
    (e.QuotaExhausted, 409),
    (e.InsufficientFunds, 409),
    (e.InstitutionSuspended, 409),
    (e.DisputeOpen, 409),
    (e.IllegalTransition, 409),
    (e.VoucherExpired, 409),
    (e.VoucherNotUsable, 409),
    (e.ConsentInvalid, 403),
    (e.CourseNotUsable, 422),
    (e.SchemeNotActive, 409),
)

TITLES: dict[str, tuple[str, str]] = {
    "not_found": ("未找到", "Not found"),
    "not_authenticated": ("请先登录", "Sign in first"),
    "sign_in_failed": ("用户名或密码错误", "The username or password is wrong"),
    "account_locked": ("账号已临时锁定", "The account is locked for a while"),
    "second_factor_required": ("需要动态验证码", "A second-factor code is required"),
    "access_denied": ("无权执行此操作", "Not permitted"),
    "rate_limited": ("操作过于频繁，请稍后再试", "Too many attempts; try again later"),
    "payload_too_large": ("请求内容过大", "The request body is too large"),
    "essc_sign_in_failed": ("电子社保卡登录未完成", "The e-SSC sign-in did not complete"),
    "essc_unavailable": ("电子社保卡服务暂不可用", "The e-SSC cannot be reached"),
    "card_holder_not_registered": ("持卡人不在培训券名册中", "The card holder is not registered"),
    "approver_not_independent": (
        "审批人须为申请人和首位审批人以外的人",
        "Another person must approve",
    ),
    "idempotency_key_reused": (
        "幂等键已用于其他请求",
        "The Idempotency-Key was used for another request",
    ),
    "idempotent_request_in_flight": (
        "相同请求正在处理中",
        "The same request is still being processed",
    ),
    "invalid_input": ("输入有误", "Invalid input"),
    "request_invalid": ("请求格式有误", "The request is not valid"),
    "not_eligible": ("不符合申领条件", "Not eligible"),
    "already_exists": ("已存在", "Already exists"),
    "already_enrolled": ("培训券已报名", "The voucher is already enrolled"),
    "quota_exhausted": ("发放名额已满", "The quota is exhausted"),
    "insufficient_funds": ("资金不足", "Insufficient funds"),
    "illegal_transition": ("当前状态不允许此操作", "Not allowed in the current state"),
    "institution_suspended": ("培训机构已暂停，结算暂停", "The institution is suspended"),
    "dispute_open": ("存在未处理的异议，相关结算暂停", "A dispute or objection is open"),
    "notice_not_over": ("公示期未满，暂不能支付", "The public notice period is not over"),
    "voucher_expired": ("培训券已过期", "The voucher has expired"),
    "voucher_not_usable": ("培训券不可使用", "The voucher cannot be used"),
    "consent_invalid": ("授权码无效", "The consent code is not valid"),
    "course_not_usable": ("该课程不可使用此券", "The course cannot take this voucher"),
    "attendance_implausible": ("考勤记录不可信", "The attendance event cannot be true"),
    "attendance_in_two_places": (
        "同一人短时间内在两家机构签到",
        "The holder checked in at another institution at nearly the same time",
    ),
    "attendance_outside_course_dates": (
        "考勤时间不在课程起止日期内",
        "The attendance is outside the course dates",
    ),
    "attendance_device_burst": (
        "同一设备短时间内签到人数过多",
        "The device checked in too many people within seconds",
    ),
    "attendance_minutes_exceed_time": (
        "线上学时超过实际经过的时间",
        "The online minutes exceed the time that passed",
    ),
    "scheme_not_active": ("项目未在发放中", "The scheme is not active"),
    "credential_invalid": ("电子凭证无效", "The voucher code is not valid"),
    "database_not_ready": ("服务暂不可用", "The service is not ready"),
    "database_unavailable": (
        "数据库连接中断，请稍后重试",
        "The database connection broke; try again",
    ),
    "http_error": ("请求无法处理", "The request cannot be handled"),
}


def status_of(error: e.DomainError) -> int:
    for error_class, status in STATUS_BY_ERROR:
        if isinstance(error, error_class):
            return status
    return 400


def _wants_english(request: Request) -> bool:
    # Chinese first: English only when the client ranks it above Chinese.
    languages = [
        part.split(";")[0].strip().lower()
        for part in request.headers.get("accept-language", "").split(",")
    ]
    for language in languages:
        if language.startswith("zh"):
            return False
        if language.startswith("en"):
            return True
    return False


def title_of(code: str, *, english: bool) -> str:
    """The title of an error code in Chinese or English; a family's title for codes without
    their own (every ``invalid_*`` code is "invalid input")."""
    family = "credential_invalid" if code.startswith("credential") else "invalid_input"
    zh, en = (
        TITLES.get(code)
        or TITLES[family if code.startswith(("credential", "invalid")) else "http_error"]
    )
    return en if english else zh


def _title(code: str, request: Request) -> str:
    return title_of(code, english=_wants_english(request))


class Problem(BaseModel):
    """RFC 9457 problem details, with a stable machine ``code`` and, for bad requests, the
    offending fields."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, str]] | None = None


def _documented(description: str) -> dict[str, Any]:
    return {
        "model": Problem,
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


# Declared on the app, so every operation documents the problems it may answer with.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("Bad request"),
    401: _documented("Not signed in"),
    403: _documented("Forbidden"),
    404: _documented("Not found"),
    405: _documented("Method not allowed"),
    409: _documented("Conflict with the current state"),
    413: _documented("The request body is too large"),
    429: _documented("Too many attempts"),
    422: _documented("Invalid input"),
    503: _documented("Not ready"),
}


def problem(
    request: Request,
    status: int,
    code: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {
        "type": f"https://skillvoucher.invalid/problems/{code}",
        "title": _title(code, request),
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _methods_on(routes: list[Any], scope: MutableMapping[str, Any]) -> set[str]:
    """Every method some route answers on this request's path, looking inside included routers
    (which FastAPI keeps as nested route lists)."""
    found: set[str] = set()
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            found |= _methods_on(list(nested.routes), scope)
        elif getattr(route, "methods", None) and route.matches(scope)[0] is not Match.NONE:
            found |= set(route.methods)
    return found


PageErrors = Callable[[Request, int, str, str], Response | None]
"""What the web portals install as ``app.state.page_errors``: an HTML page for an error on a
page's path, or None for the API's paths (which keep their problem+json answer)."""


def _page_answer(request: Request, status: int, code: str, message: str) -> Response | None:
    renderer: PageErrors | None = getattr(request.app.state, "page_errors", None)
    return None if renderer is None else renderer(request, status, code, message)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(e.DomainError)
    async def _domain(request: Request, error: e.DomainError) -> Response:
        status = status_of(error)
        page = _page_answer(request, status, error.code, error.message)
        if page is not None:
            return page
        # RFC 9110: a 401 names the scheme that would work.
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(error, RateLimited):
            headers = {"Retry-After": str(error.retry_after_seconds)}
        if isinstance(error, DatabaseUnavailable):
            headers = {"Retry-After": str(DATABASE_RETRY_SECONDS)}
        return problem(request, status, error.code, error.message, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError) -> Response:
        page = _page_answer(request, 422, "request_invalid", "the request has invalid fields")
        if page is not None:
            return page
        fields = [
            {"field": ".".join(str(p) for p in item["loc"]), "message": item["msg"]}
            for item in error.errors()
        ]
        return problem(
            request, 422, "request_invalid", "the request has invalid fields", errors=fields
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        page = _page_answer(request, error.status_code, "http_error", str(error.detail))
        if page is not None:
            return page
        # Keep the headers HTTP requires, such as Allow on a 405.
        headers = dict(error.headers) if error.headers else None
        if error.status_code == 405:
            # Starlette names only the first route on the path; a path served by one route per
            # method (GET and POST) allows every one of them.
            allowed = _methods_on(request.app.routes, request.scope)
            headers = {**(headers or {}), "Allow": ", ".join(sorted(allowed))}
        return problem(request, error.status_code, "http_error", str(error.detail), headers)
