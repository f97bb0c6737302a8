"""The dashboard's charts as tables: one category column and a few measure columns each.

The same table feeds the chart (JSON for dashboard.js), the accessible data table under it and
the XLSX export, so the three cannot disagree. Amounts stay integer fen here; they become
yuan only where they are shown or written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from skillvoucher.application.dashboard import Dashboard
from skillvoucher.domain.people import TargetGroup
from skillvoucher.domain.regions import RegionLevel
from skillvoucher.persistence.read_models.dashboard import Figures, MonthFigures
from skillvoucher.web.i18n import ENGLISH, N_, translate


@dataclass(frozen=True)
class Measure:
    key: str  # the attribute of Figures / MonthFigures
    header: str  # msgid
    money: bool = False


ISSUED = Measure("issued", N_("Issued"))
USED = Measure("used", N_("Used"))
COMPLETED = Measure("completed", N_("Completed"))
CERTIFIED = Measure("certified", N_("Certified"))
SETTLED = Measure("settled_fen", N_("Settled (yuan)"), money=True)
PAID = Measure("paid_fen", N_("Paid (yuan)"), money=True)
COUNTS = (ISSUED, USED, COMPLETED, CERTIFIED)

TARGET_GROUP_NAMES = {
    TargetGroup.UNEMPLOYED: N_("Unemployed"),
    TargetGroup.POVERTY_ALLEVIATED: N_("Lifted out of poverty"),
    TargetGroup.SCHOOL_LEAVER: N_("School leavers not in further study"),
    TargetGroup.RURAL_MIGRANT_WORKER: N_("Rural migrant workers"),
    TargetGroup.LAID_OFF: N_("Laid off"),
    TargetGroup.RETIRED_SOLDIER: N_("Retired soldiers"),
    TargetGroup.DISABLED: N_("People with disabilities"),
    TargetGroup.COLLEGE_GRADUATE: N_("College graduates of the year"),
    TargetGroup.UNEMPLOYED_GRADUATE: N_("Graduates not yet employed"),
    TargetGroup.EMPLOYEE: N_("Employees"),
}
NO_GROUP = N_("No target group")

REGION_TITLES = {
    RegionLevel.PROVINCE: (N_("By province"), N_("Province")),
    RegionLevel.CITY: (N_("By city"), N_("City")),
    RegionLevel.COUNTY: (N_("By district or county"), N_("District or county")),
}


@dataclass(frozen=True)
class ChartTable:
    name: str  # in the export's URL: /dashboard/export/<name>.xlsx
    title: str
    caption: str
    category_header: str
    measures: Sequence[Measure]
    headers: Sequence[str]  # the measures' headers, translated
    rows: Sequence[tuple[str, Sequence[int]]]  # category, then one value per measure (fen)
    kind: str = "bar"  # or "line"

    @property
    def money(self) -> bool:
        return any(m.money for m in self.measures)

    def chart_data(self) -> dict[str, Any]:
        """What dashboard.js draws: categories and one series per measure (amounts in fen)."""
        return {
            "kind": self.kind,
            "title": self.title,
            "money": self.money,
            "categories": [category for category, _ in self.rows],
            "series": [
                {"name": header, "values": [values[i] for _, values in self.rows]}
                for i, header in enumerate(self.headers)
            ],
        }


def _table(
    language: str,
    name: str,
    texts: tuple[str, str, str],
    measures: Sequence[Measure],
    rows: Sequence[Any],
    category: Callable[[Any], str],
    kind: str = "bar",
) -> ChartTable:
    title, caption, category_header = (translate(language, text) for text in texts)
    return ChartTable(
        name=name,
        title=title,
        caption=caption,
        category_header=category_header,
        measures=measures,
        headers=[translate(language, m.header) for m in measures],
        rows=[(category(row), [int(getattr(row, m.key)) for m in measures]) for row in rows],
        kind=kind,
    )


def _group_name(language: str, key: str) -> str:
    try:
        return translate(language, TARGET_GROUP_NAMES[TargetGroup(key)])
    except ValueError:
        return translate(language, NO_GROUP)


def _month(row: MonthFigures) -> str:
    return row.month


def chart_tables(dashboard: Dashboard, language: str) -> list[ChartTable]:
    english = language == ENGLISH
    region_title, region_header = REGION_TITLES[dashboard.bars_level]

    def region_name(row: Figures) -> str:
        return row.label_en if english and row.label_en else row.label

    def label(row: Figures) -> str:
        return row.label

    return [
        _table(
            language,
            "months",
            (
                N_("Over time"),
                N_("Vouchers issued, used, completed and certified per month"),
                N_("Month"),
            ),
            COUNTS,
            dashboard.months,
            _month,
            kind="line",
        ),
        _table(
            language,
            "amounts",
            (
                N_("Amounts over time"),
                N_("Amounts settled and paid per month, in yuan"),
                N_("Month"),
            ),
            (SETTLED, PAID),
            dashboard.months,
            _month,
        ),
        _table(
            language,
            "regions",
            (region_title, N_("Vouchers by the holders' home region"), region_header),
            COUNTS,
            dashboard.by_region,
            region_name,
        ),
        _table(
            language,
            "schemes",
            (N_("By scheme"), N_("Vouchers by scheme"), N_("Scheme")),
            COUNTS,
            dashboard.by_scheme,
            label,
        ),
        _table(
            language,
            "target-groups",
            (
                N_("By target group"),
                N_("Vouchers by the holders' target group"),
                N_("Target group"),
            ),
            COUNTS,
            dashboard.by_target_group,
            lambda row: _group_name(language, row.key),
        ),
        _table(
            language,
            "institutions",
            (
                N_("By institution"),
                N_("The ten institutions with the most vouchers used"),
                N_("Institution"),
            ),
            (USED, COMPLETED, CERTIFIED),
            dashboard.by_institution,
            label,
        ),
    ]


CHART_NAMES = ("months", "amounts", "regions", "schemes", "target-groups", "institutions")
