"""The statistics dashboard: scope, filters, charts that agree with `stats --json` and the
statistics API, XLSX exports equal to the charts, and who may open it."""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from builders import CITY, Clock, import_institution
from dashboard_world import HENAN, DashboardWorld, dashboard_world
from pages import ENGLISH, sign_in_staff_page, sign_in_worker_page, text_of
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.application.statistics import compute_statistics
from skillvoucher.domain.access import Role, Scope
from skillvoucher.persistence.tables import Person
from skillvoucher.web.i18n import CHINESE, translate

CHARTS = ("months", "amounts", "regions", "schemes", "target-groups", "institutions")
COUNT_COLUMNS = ("issued", "used", "completed", "certified")


@pytest.fixture
def world(ctx: AppContext, clock: Clock) -> DashboardWorld:
    return dashboard_world(ctx, clock)


def charts_of(html: str) -> dict[str, dict[str, Any]]:
    """Each chart's data, as the page hands it to dashboard.js."""
    blocks = re.findall(
        r'<script type="application/json" id="chart-data-([a-z-]+)">(.*?)</script>', html, re.S
    )
    return {name: json.loads(body) for name, body in blocks}


def rows_of(chart: dict[str, Any]) -> dict[str, list[int]]:
    """category -> the values of each series, in order."""
    return {
        category: [series["values"][i] for series in chart["series"]]
        for i, category in enumerate(chart["categories"])
    }


def counts(rows: list[dict[str, Any]], label: str = "label") -> dict[str, list[int]]:
    return {row[label]: [row[c] for c in COUNT_COLUMNS] for row in rows}


def xlsx_rows(answer: Any) -> tuple[str, list[tuple[Any, ...]]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(answer.content))
    [sheet] = book.worksheets
    return sheet.title, [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_the_national_statistician_sees_every_province_as_the_statistics_api_does(
    client: TestClient, ctx: AppContext, world: DashboardWorld
) -> None:
    sign_in_staff_page(client, ctx, Role.NATIONAL_STATISTICIAN, region_code=None)
    page = client.get("/dashboard")
    assert page.status_code == 200, page.text
    api = client.get("/api/v1/statistics").json()
    assert api == compute_statistics(ctx).as_json()  # what `stats --json` prints
    charts = charts_of(page.text)
    assert set(charts) == set(CHARTS)

    # The headline figures.
    text = text_of(page.text)
    assert "统计看板: 全国" in text
    assert 'href="/admin"' not in page.text  # a statistician has no console to go back to
    assert api["vouchers_issued"] == 6
    assert f"发放数量 {api['vouchers_issued']}" in text
    assert "¥" + f"{Decimal(api['amount_paid_fen']) / 100:,.2f}" in text
    assert world.paid_fen == api["amount_paid_fen"] > 0

    # Bars per province: the API's holders' regions rolled up to their province.
    by_province: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    names = {"14": "山西省", "41": "河南省"}
    for row in api["by"]["region"]:
        for i, column in enumerate(COUNT_COLUMNS):
            by_province[names[row["key"][:2]]][i] += row[column]
    assert rows_of(charts["regions"]) == by_province
    assert list(rows_of(charts["regions"])) == ["山西省", "河南省"]

    assert rows_of(charts["schemes"]) == counts(api["by"]["scheme"])
    groups = {"失业人员": "unemployed", "毕业年度高校毕业生": "college_graduate"}
    target_groups = counts(api["by"]["target_group"], label="key")
    assert {groups[k]: v for k, v in rows_of(charts["target-groups"]).items()} == target_groups
    institutions = {
        row["label"]: [row["used"], row["completed"], row["certified"]]
        for row in api["by"]["institution"]
    }
    assert rows_of(charts["institutions"]) == institutions

    # Over time: issued in the month of issue (as the API counts months); every series adds up.
    months = rows_of(charts["months"])
    assert {m: v[0] for m, v in months.items() if v[0]} == {
        row["key"]: row["issued"] for row in api["by"]["month"]
    }
    for i, column in enumerate(COUNT_COLUMNS):
        assert sum(v[i] for v in months.values()) == api[f"vouchers_{column}"]
    amounts = rows_of(charts["amounts"])
    assert sum(v[0] for v in amounts.values()) == api["amount_payable_fen"] + api["amount_paid_fen"]
    assert sum(v[1] for v in amounts.values()) == api["amount_paid_fen"]
    assert api["amount_payable_fen"] > 0  # Datong's batch is settled, not yet paid


def test_every_chart_downloads_as_xlsx_equal_to_the_chart_in_the_readers_language(
    client: TestClient, ctx: AppContext, world: DashboardWorld
) -> None:
    sign_in_staff_page(client, ctx, Role.NATIONAL_STATISTICIAN, region_code=None)
    chinese = charts_of(client.get("/dashboard").text)
    for name in CHARTS:
        title, rows = xlsx_rows(client.get(f"/dashboard/export/{name}.xlsx"))
        chart = chinese[name]
        assert title == chart["title"][:31]
        header, *body = rows
        assert list(header[1:]) == [series["name"] for series in chart["series"]]
        exported = {}
        for category, *values in body:
            # Amounts are yuan with two decimals: exactly the chart's fen.
            exported[category] = (
                [int(Decimal(str(v)) * 100) for v in values] if chart["money"] else values
            )
        assert exported == rows_of(chart), name
    headers = ("Month", "Issued", "Used", "Completed", "Certified")
    assert xlsx_rows(client.get("/dashboard/export/months.xlsx"))[1][0] == tuple(
        translate(CHINESE, header) for header in headers
    )
    assert xlsx_rows(client.get("/dashboard/export/months.xlsx"))[1][0][:2] == ("月份", "发放")

    english = charts_of(client.get("/dashboard", headers=ENGLISH).text)
    title, rows = xlsx_rows(client.get("/dashboard/export/amounts.xlsx", headers=ENGLISH))
    assert title == english["amounts"]["title"] == "Amounts over time"
    assert rows[0] == ("Month", "Settled (yuan)", "Paid (yuan)")
    regions = xlsx_rows(client.get("/dashboard/export/regions.xlsx", headers=ENGLISH))
    assert [row[0] for row in regions[1][1:]] == ["Shanxi", "Henan"]
    assert client.get("/dashboard/export/nothing.xlsx").status_code == 404


def test_a_city_administrator_sees_only_their_city_by_district(
    client: TestClient, ctx: AppContext, world: DashboardWorld
) -> None:
    sign_in_staff_page(client, ctx, Role.CITY_ADMIN, region_code=CITY)
    page = client.get("/dashboard")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "统计看板: 太原市" in text
    assert "大同" not in text
    assert "河南" not in text
    assert 'href="/admin"' in page.text  # the way back to the console
    charts = charts_of(page.text)
    assert rows_of(charts["regions"]) == {"小店区": [2, 2, 1, 1], "迎泽区": [1, 0, 0, 0]}
    assert list(rows_of(charts["schemes"])) == ["太原市重点群体培训券"]

    api = client.get("/api/v1/statistics").json()
    assert api == compute_statistics(ctx, Scope.of_region(CITY)).as_json()
    assert rows_of(charts["schemes"]) == counts(api["by"]["scheme"])
    months = rows_of(charts["amounts"])
    assert sum(v[1] for v in months.values()) == api["amount_paid_fen"] == world.paid_fen

    # Another city is not among the choices, and asking for it is refused field by field.
    outside = client.get("/dashboard", params={"region": "140200"})
    assert outside.status_code == 422
    assert 'aria-invalid="true"' in outside.text
    assert translate(CHINESE, "Choose one of the options.") in text_of(outside.text)
    assert client.get("/dashboard/export/regions.xlsx?region=140200").status_code == 422


def test_filters_narrow_to_a_region_a_scheme_and_a_year(
    client: TestClient, ctx: AppContext, world: DashboardWorld
) -> None:
    sign_in_staff_page(client, ctx, Role.NATIONAL_STATISTICIAN, region_code=None)
    shanxi = charts_of(client.get("/dashboard", params={"region": "140000"}).text)
    assert rows_of(shanxi["regions"]) == {"太原市": [3, 2, 1, 1], "大同市": [2, 1, 0, 0]}

    datong = client.get("/dashboard", params={"scheme": world.datong_scheme})
    assert rows_of(charts_of(datong.text)["schemes"]) == {"大同市培训券": [2, 1, 0, 0]}
    _, rows = xlsx_rows(client.get(f"/dashboard/export/schemes.xlsx?scheme={world.datong_scheme}"))
    assert rows[1:] == [("大同市培训券", 2, 1, 0, 0)]

    assert rows_of(charts_of(client.get("/dashboard?year=2026").text)["regions"])["河南省"] == [
        1,
        0,
        0,
        0,
    ]
    empty = client.get("/dashboard?year=2025")
    assert empty.status_code == 200
    assert all(not chart["categories"] for chart in charts_of(empty.text).values())

    # htmx asks for the dashboard's body alone.
    part = client.get(f"/dashboard?region={HENAN}", headers={"HX-Request": "true"})
    assert "<html" not in part.text
    assert rows_of(charts_of(part.text)["regions"]) == {"河南省": [1, 0, 0, 0]}


def test_workers_and_institution_staff_may_not_open_the_dashboard(
    client: TestClient, ctx: AppContext, world: DashboardWorld
) -> None:
    anonymous = client.get("/dashboard", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/sign-in")

    with ctx.unit_of_work() as uow:
        worker = uow.session.scalars(sa.select(Person.id).limit(1)).one()
    sign_in_worker_page(client, ctx, worker)
    assert client.get("/dashboard").status_code == 403
    client.cookies.clear()

    school = institution_id_by_code(ctx, import_institution(ctx, name="另一所培训学校"))
    sign_in_staff_page(client, ctx, Role.INSTITUTION_STAFF, region_code=None, institution_id=school)
    assert client.get("/dashboard").status_code == 403
    assert client.get("/dashboard/export/months.xlsx").status_code == 403
