"""Wiring the portals into the app: static files, the pages, and HTML error pages for the
pages' paths (the API keeps its problem+json answers)."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from skillvoucher.api.problems import title_of
from skillvoucher.web.i18n import ENGLISH, request_language
from skillvoucher.web.routes import (
    admin_catalogue,
    admin_disputes,
    admin_oversight,
    common,
    dashboard,
    enterprise,
    institution,
    worker,
)
from skillvoucher.web.session import CsrfRejected, SignInNeeded, sign_in_redirect
from skillvoucher.web.templating import render

# The pages' paths; errors anywhere else (the API, health, metrics) stay problem+json.
PAGE_SECTIONS = (
    "sign-in",
    "sign-out",
    "language",
    "worker",
    "institution",
    "enterprise",
    "admin",
    "dashboard",
)
HTTP_CODES = {403: "access_denied", 404: "not_found", 413: "payload_too_large"}
VENDOR_FILES = ("htmx.min.js", "echarts.min.js", "jsQR.js")


class AssetsMissing(RuntimeError):
    pass


def is_page_path(path: str) -> bool:
    section = path.strip("/").split("/", 1)[0]
    return path == "/" or section in PAGE_SECTIONS


def error_page(request: Request, status: int, code: str, message: str) -> Response | None:
    if not is_page_path(request.url.path):
        return None
    if status == 401:
        return sign_in_redirect(request)
    if code == "http_error":
        code = HTTP_CODES.get(status, code)
    english = request_language(request) == ENGLISH
    return render(
        request,
        "error.html",
        {"title": title_of(code, english=english), "detail": message if english else ""},
        status_code=status,
    )


def _static_folder() -> str:
    folder = resources.files("skillvoucher.web").joinpath("static")
    missing = [name for name in VENDOR_FILES if not folder.joinpath("vendor", name).is_file()]
    if missing:
        raise AssetsMissing(
            f"the portals' browser assets are missing ({', '.join(missing)}): "
            "run scripts/build-assets.sh once (it needs npm)"
        )
    return str(folder)


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=_static_folder()), name="static")
    app.state.page_errors = error_page

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, _: SignInNeeded) -> Response:
        return sign_in_redirect(request)

    @app.exception_handler(CsrfRejected)
    async def _csrf(request: Request, _: CsrfRejected) -> Response:
        # Most often a form left open past its session: start again from the page.
        referer = request.headers.get("referer")
        answer = error_page(request, 403, "access_denied", "the form's CSRF token is wrong")
        return answer or RedirectResponse(referer or "/", status_code=303)

    app.include_router(common.router)
    app.include_router(worker.router)
    app.include_router(institution.router)
    app.include_router(enterprise.router)
    app.include_router(admin_catalogue.router)
    app.include_router(admin_oversight.router)
    app.include_router(admin_disputes.router)
    app.include_router(dashboard.router)
