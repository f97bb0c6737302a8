"""The statistics dashboard under /dashboard, for holders of statistics:read: administrators see
their region, the national statistician the whole country. Filters are a GET form (htmx swaps
the dashboard's body when it is there); every chart downloads as XLSX with the same filters."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.dependencies import Context
from skillvoucher.application.dashboard import (
    DashboardChoice,
    DashboardOptions,
    dashboard_for,
    dashboard_options,
)
from skillvoucher.domain.access import Permission as P
from skillvoucher.domain.access import Principal
from skillvoucher.domain.errors import NotFound
from skillvoucher.domain.regions import RegionLevel
from skillvoucher.web.forms import FormInvalid, parse_form
from skillvoucher.web.i18n import ENGLISH, N_, request_language, translate
from skillvoucher.web.routes.dashboard_charts import CHART_NAMES, chart_tables
from skillvoucher.web.routes.dashboard_xlsx import XLSX_MEDIA_TYPE, chart_workbook
from skillvoucher.web.session import HOME_BY_ROLE, with_permission
from skillvoucher.web.templating import render

router = APIRouter(prefix="/dashboard", include_in_schema=False)

Statistician = Annotated[Principal, with_permission(P.STATISTICS_READ)]
CHOOSE_ONE = N_("Choose one of the options.")


class DashboardFilters(BaseModel):
    model_config = ConfigDict(extra="ignore")

    year: int | None = Field(default=None, ge=2000, le=2100)
    region: str | None = Field(default=None, pattern=r"^\d{6}$")
    scheme: str | None = Field(default=None, max_length=40)


def _choice(
    request: Request, options: DashboardOptions, language: str
) -> tuple[DashboardChoice | None, dict[str, str]]:
    """The filters asked for, checked against what this caller may choose."""
    try:
        filters = parse_form(DashboardFilters, request.query_params, language)
    except FormInvalid as invalid:
        return None, invalid.errors
    errors: dict[str, str] = {}
    if filters.region and filters.region not in {o.code for o in options.regions}:
        errors["region"] = translate(language, CHOOSE_ONE)
    if filters.scheme and filters.scheme not in {code for code, _ in options.schemes}:
        errors["scheme"] = translate(language, CHOOSE_ONE)
    if errors:
        return None, errors
    return DashboardChoice(filters.year, filters.region, filters.scheme), {}


def _query_of(choice: DashboardChoice) -> str:
    chosen = {"year": choice.year, "region": choice.region, "scheme": choice.scheme}
    return urlencode({key: value for key, value in chosen.items() if value})


def _choices(options: DashboardOptions, english: bool) -> dict[str, list[tuple[str, str]]]:
    """The filter lists' options as (value, label) pairs in the reader's language."""
    indent = {RegionLevel.PROVINCE: "", RegionLevel.CITY: " ", RegionLevel.COUNTY: "  "}
    return {
        "years": [(str(year), str(year)) for year in options.years],
        "regions": [
            (o.code, indent[o.level] + (o.name_en if english else o.name)) for o in options.regions
        ],
        "schemes": [(code, f"{name} ({code})") for code, name in options.schemes],
    }


@router.get("")
def dashboard_page(request: Request, ctx: Context, caller: Statistician) -> Response:
    language = request_language(request)
    options = dashboard_options(ctx, caller)
    choice, errors = _choice(request, options, language)
    values: dict[str, Any] = {
        "options": options,
        "errors": errors,
        "filters": {key: request.query_params.get(key, "") for key in ("year", "region", "scheme")},
        "english": language == ENGLISH,
        "choices": _choices(options, language == ENGLISH),
        "console": HOME_BY_ROLE.get(caller.role) == "/admin",
        "dashboard": None,
        "charts": [],
        "query": "",
    }
    if choice is not None:
        dashboard = dashboard_for(ctx, caller, choice)
        values.update(
            dashboard=dashboard,
            charts=chart_tables(dashboard, language),
            query=_query_of(choice),
        )
    # htmx asks for the dashboard's body only; a plain GET gets the whole page.
    template = "dashboard/body.html" if request.headers.get("HX-Request") else "dashboard/page.html"
    return render(request, template, values, status_code=422 if errors else 200)


@router.get("/export/{chart}.xlsx")
def export_chart(request: Request, ctx: Context, caller: Statistician, chart: str) -> Response:
    """One chart's figures as an XLSX workbook, with the same filters as the page."""
    if chart not in CHART_NAMES:
        raise NotFound(f"there is no chart {chart!r}")
    language = request_language(request)
    options = dashboard_options(ctx, caller)
    choice, _errors = _choice(request, options, language)
    if choice is None:  # the page shows what is wrong with the filters
        return dashboard_page(request, ctx, caller)
    dashboard = dashboard_for(ctx, caller, choice)
    [table] = [t for t in chart_tables(dashboard, language) if t.name == chart]
    return Response(
        chart_workbook(table),
        media_type=XLSX_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{chart}.xlsx"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
