"""A dashboard chart as an XLSX workbook: one sheet named after the chart, a header row in the
reader's language, then the chart's rows. Amounts are yuan with two decimals, made exactly from
integer fen (a Decimal, which openpyxl writes digit for digit)."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font

from skillvoucher.web.routes.dashboard_charts import ChartTable

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel refuses these in a sheet name, and names longer than 31 characters.
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")
MAX_SHEET_NAME = 31


def yuan_of(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2).quantize(Decimal("0.01"))


def sheet_name(title: str) -> str:
    return _NOT_IN_SHEET_NAMES.sub(" ", title).strip()[:MAX_SHEET_NAME] or "Sheet"


def chart_workbook(table: ChartTable) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = sheet_name(table.title)
    sheet.append([table.category_header, *table.headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for category, values in table.rows:
        sheet.append(
            [
                category,
                *(
                    yuan_of(v) if m.money else v
                    for m, v in zip(table.measures, values, strict=True)
                ),
            ]
        )
    for column, measure in enumerate(table.measures, start=2):
        if measure.money:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=column, max_col=column):
                cell.number_format = "#,##0.00"
    sheet.column_dimensions["A"].width = 28
    sheet.freeze_panes = "B2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
