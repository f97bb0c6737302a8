"""Rendering pages: one Jinja2 environment per language, with the filters every page uses.

Pages load scripts and styles only from this app (``/static``): the Content-Security-Policy
forbids inline scripts, so data for charts travels in ``<script type="application/json">``
blocks that the page's own script reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

import jinja2
from fastapi.responses import HTMLResponse
from starlette.requests import Request

from skillvoucher.domain.access import Principal
from skillvoucher.domain.money import format_yuan
from skillvoucher.domain.timekeeping import SHANGHAI
from skillvoucher.web.i18n import LANGUAGE_NAMES, LANGUAGES, request_language, translations
from skillvoucher.web.session import csrf_token_of, principal_of

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def yuan(fen: int | None) -> str:
    """Fen shown as yuan with the currency sign: 120000 -> '¥1,200.00'."""
    return "-" if fen is None else f"¥{format_yuan(fen)}"


def local_time(moment: datetime | None) -> str:
    """A UTC moment shown in Asia/Shanghai, to the minute."""
    return "-" if moment is None else moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def local_day(day: date | datetime | None) -> str:
    if day is None:
        return "-"
    if isinstance(day, datetime):
        day = day.astimezone(SHANGHAI).date()
    return day.isoformat()


def display_name(principal: Principal) -> str:
    """Who is signed in, as the header shows it: a staff member's username; for a worker, whose
    label is an internal id, nothing (the page says whose vouchers these are)."""
    kind, _, name = principal.label.partition(":")
    return name if kind == "staff" else ""


def percent(part: int | float, whole: int | float) -> str:
    """A share as a percentage with one decimal; '-' when there is nothing to divide."""
    return "-" if not whole else f"{100 * part / whole:.1f}%"


@cache
def environment(language: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("skillvoucher.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        yuan=yuan, local_time=local_time, local_day=local_day, display_name=display_name
    )
    env.globals.update(percent=percent, languages=LANGUAGES, language_names=LANGUAGE_NAMES)
    return env


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """``template`` rendered in the request's language, with the signed-in person (if any),
    their CSRF token and the current path available to every template."""
    language = request_language(request)
    values: dict[str, Any] = {
        "request": request,
        "lang": language,
        "user": principal_of(request),
        "csrf_token": csrf_token_of(request),
        "path": request.url.path,
    }
    values.update(context or {})
    html = environment(language).get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})
