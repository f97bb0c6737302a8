"""The statistics dashboard: headline figures and chart series for the caller's region scope,
narrowed by what they choose (an issue year, a region within their scope, a scheme).

With nothing chosen the figures are those of ``statistics.statistics_for`` for the same caller
(the tests hold the two together).
"""

from __future__ import annotations

from dataclasses import dataclass

from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.errors import NotFound
from skillvoucher.domain.regions import RegionLevel, code_prefix
from skillvoucher.persistence.read_models import dashboard as read
from skillvoucher.persistence.read_models.dashboard import Figures, MonthFigures, Slice

TOP_INSTITUTIONS = 10
BARS_LEVEL = {2: RegionLevel.PROVINCE, 4: RegionLevel.CITY, 6: RegionLevel.COUNTY}


@dataclass(frozen=True)
class DashboardChoice:
    year: int | None = None
    region: str | None = None  # a region code within the caller's scope
    scheme: str | None = None  # a scheme code


@dataclass(frozen=True)
class RegionOption:
    code: str
    name: str
    name_en: str
    level: RegionLevel


@dataclass(frozen=True)
class DashboardOptions:
    """What a caller may choose from: years with issued vouchers, the regions (provinces and
    cities) that run schemes within their scope, and those schemes."""

    scope_region: RegionOption | None  # None: the whole country
    years: list[int]
    regions: list[RegionOption]
    schemes: list[tuple[str, str]]


@dataclass(frozen=True)
class Dashboard:
    choice: DashboardChoice
    bars_level: RegionLevel  # what the by-region bars are: provinces, cities or counties
    totals: Figures
    months: list[MonthFigures]
    by_region: list[Figures]
    by_scheme: list[Figures]
    by_target_group: list[Figures]
    by_institution: list[Figures]


def _level_of(prefix: str) -> RegionLevel:
    return {2: RegionLevel.PROVINCE, 4: RegionLevel.CITY}.get(len(prefix), RegionLevel.COUNTY)


def _prefix_region(prefix: str) -> str:
    return prefix.ljust(6, "0")


def dashboard_options(ctx: AppContext, principal: Principal) -> DashboardOptions:
    principal.require(Permission.STATISTICS_READ)
    scope = principal.scope.region_prefix
    with ctx.read_unit_of_work() as uow:
        session = uow.session
        years = sorted({int(month[:4]) for month in read.issue_months(session, scope)})
        codes: set[str] = set()
        for code in read.scheme_regions_within(session, scope):
            # A scheme's region and the province and city above it, as far as the scope reaches.
            for digits in (2, 4, 6):
                part = code_prefix(code)[:digits]
                if len(part) >= len(scope) and part.startswith(scope):
                    codes.add(_prefix_region(part))
        if scope:
            codes.add(_prefix_region(scope))
        names = read.region_names(session, sorted(codes))
        schemes = read.schemes_within(session, scope)
    options = [
        RegionOption(code, *names[code], level=_level_of(code_prefix(code)))
        for code in sorted(names)
    ]
    scope_region = next((o for o in options if scope and o.code == _prefix_region(scope)), None)
    return DashboardOptions(
        scope_region=scope_region,
        years=years,
        regions=[o for o in options if o is not scope_region],
        schemes=schemes,
    )


def _slice(principal: Principal, choice: DashboardChoice) -> Slice:
    prefix = principal.scope.region_prefix
    if choice.region:
        chosen = code_prefix(choice.region)
        if not chosen.startswith(prefix):
            raise NotFound(f"region {choice.region} is outside the caller's scope")
        prefix = chosen
    return Slice(prefix, choice.scheme, choice.year)


def dashboard_for(ctx: AppContext, principal: Principal, choice: DashboardChoice) -> Dashboard:
    """The dashboard's figures for the vouchers within the caller's scope and ``choice``; the
    bars by region go one level below the region looked at (provinces for the country, cities
    for a province, counties for a city)."""
    principal.require(Permission.STATISTICS_READ)
    part = _slice(principal, choice)
    digits = {0: 2, 2: 4}.get(len(part.region_prefix), 6)
    with ctx.read_unit_of_work() as uow:
        session = uow.session
        return Dashboard(
            choice=choice,
            bars_level=BARS_LEVEL[digits],
            totals=read.overall(session, part),
            months=read.monthly(session, part),
            by_region=read.by_region(session, part, digits),
            by_scheme=read.by_scheme(session, part),
            by_target_group=read.by_target_group(session, part),
            by_institution=read.by_institution(session, part, TOP_INSTITUTIONS),
        )
