"""An enterprise's roster file: read (XLSX or CSV, streaming) into resident ID numbers and names,
and the blank template HR fills in.

HR staff export rosters from whatever payroll or HR system they use, so the header names are
read tolerantly (Chinese or English, any case and spacing), and a title row above the header is
allowed. A file that cannot be a roster is refused as a whole with the reason, before any
voucher is issued.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

from skillvoucher.domain.errors import InvalidInput

ID_HEADERS = frozenset(
    {
        "公民身份号码",
        "公民身份证号码",
        "身份证号",
        "身份证号码",
        "身份证",
        "居民身份证号码",
        "证件号码",
        "residentid",
        "residentidnumber",
        "idnumber",
        "idno",
        "idcard",
        "idcardnumber",
        "nationalid",
    }
)
NAME_HEADERS = frozenset({"姓名", "员工姓名", "name", "fullname", "employeename"})
TEMPLATE_HEADERS = ("公民身份号码 Resident ID number", "姓名 Name")
# A header may sit below a title row or two ("XX公司2026年培训名单"), but not much further down.
HEADER_SEARCH_ROWS = 10
# Bounds on what is read at all, whatever a file claims: a small zip can unpack to millions of
# empty rows or a sheet 16,384 columns wide.
MAX_COLUMNS = 50
BLANK_ROWS_ALLOWED = 1000
XLSX_MAGIC = b"PK\x03\x04"


class RosterProblem(StrEnum):
    NOT_A_SPREADSHEET = "not_a_spreadsheet"
    UNREADABLE = "unreadable"
    NO_ID_COLUMN = "no_id_column"
    EMPTY = "empty"
    TOO_MANY_ROWS = "too_many_rows"


class RosterRefused(InvalidInput):
    """The file cannot be read as a roster; ``problem`` says why (the page words it)."""

    code = "roster_refused"

    def __init__(self, message: str, problem: RosterProblem = RosterProblem.UNREADABLE) -> None:
        super().__init__(message)
        self.problem = problem

    @classmethod
    def because(cls, problem: RosterProblem, message: str) -> RosterRefused:
        return cls(message, problem)


@dataclass(frozen=True)
class RosterLine:
    line: int
    """The row number in the sheet (or line in the CSV file), as HR sees it in their editor."""
    resident_id: str
    name: str


def _header_key(value: str) -> str:
    return "".join(ch for ch in value.lower() if ch not in " \t\r\n_-*:：()（）").strip()


def _is_id_header(value: str) -> bool:
    # The template's bilingual header ("公民身份号码 Resident ID number") counts by its first word.
    key = _header_key(value)
    return key in ID_HEADERS or any(key.startswith(h) for h in ID_HEADERS if not h.isascii())


def _is_name_header(value: str) -> bool:
    key = _header_key(value)
    return key in NAME_HEADERS or key.startswith("姓名")


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        # A number typed into a cell without the text format; 18 digits lose their tail in a
        # float, so such an ID fails its check digit and is reported, never guessed.
        return str(int(value))
    return str(value).strip()


def read_roster(stream: BinaryIO, filename: str, max_lines: int) -> list[RosterLine]:
    """The roster's lines with an ID number or a name, in file order. Raises RosterRefused for
    anything but an XLSX workbook (or a CSV file named .csv), a sheet without an ID column,
    no lines at all, or more than ``max_lines`` lines."""
    head = stream.read(4)
    stream.seek(0)
    if head == XLSX_MAGIC:
        rows = _xlsx_rows(stream)
    elif filename.lower().endswith(".csv"):
        rows = _csv_rows(stream)
    else:
        raise RosterRefused.because(
            RosterProblem.NOT_A_SPREADSHEET, f"{filename} is not an XLSX file"
        )
    try:
        return _roster_lines(rows, filename, max_lines)
    finally:
        rows.close()


def _roster_lines(rows: _Closing, filename: str, max_lines: int) -> list[RosterLine]:
    id_column: int | None = None
    name_column: int | None = None
    for number, cells in rows:
        texts = [_cell_text(c) for c in cells]
        id_column = next((i for i, t in enumerate(texts) if _is_id_header(t)), None)
        if id_column is not None:
            name_column = next((i for i, t in enumerate(texts) if _is_name_header(t)), None)
            break
        if number >= HEADER_SEARCH_ROWS:
            break
    if id_column is None:
        raise RosterRefused.because(
            RosterProblem.NO_ID_COLUMN, f"{filename} has no resident ID number column"
        )
    lines: list[RosterLine] = []
    blank = 0
    for number, cells in rows:
        texts = [_cell_text(c) for c in cells]
        resident_id = texts[id_column] if id_column < len(texts) else ""
        name = texts[name_column] if name_column is not None and name_column < len(texts) else ""
        if not resident_id and not name:
            blank += 1
            if blank > max_lines + BLANK_ROWS_ALLOWED:
                raise RosterRefused.because(
                    RosterProblem.TOO_MANY_ROWS, f"{filename} has too many rows to read"
                )
            continue
        if len(lines) == max_lines:
            raise RosterRefused.because(
                RosterProblem.TOO_MANY_ROWS, f"{filename} has more than {max_lines} lines"
            )
        lines.append(RosterLine(number, resident_id, name))
    if not lines:
        raise RosterRefused.because(RosterProblem.EMPTY, f"{filename} lists nobody")
    return lines


def _xlsx_rows(stream: BinaryIO) -> _Closing:
    return _Closing(_xlsx_values(stream))


def _xlsx_values(stream: BinaryIO) -> Iterator[tuple[int, tuple[object, ...]]]:
    from openpyxl import load_workbook  # imported here: only roster uploads pay for it

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise RosterRefused.because(
            RosterProblem.UNREADABLE, f"not a readable XLSX file: {error}"
        ) from None
    try:
        values = iter(workbook.worksheets[0].iter_rows(max_col=MAX_COLUMNS, values_only=True))
        number = 0
        while True:
            try:
                cells = next(values)
            except StopIteration:
                return
            except Exception as error:  # a broken sheet fails while it is read
                raise RosterRefused.because(
                    RosterProblem.UNREADABLE, f"unreadable sheet: {error}"
                ) from None
            number += 1
            yield number, tuple(cells)
    finally:
        workbook.close()


def _csv_rows(stream: BinaryIO) -> _Closing:
    raw = stream.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel in Chinese saves "CSV" in GB18030 (GBK); anything else fails on its NULs.
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise RosterRefused.because(
                RosterProblem.UNREADABLE, "not UTF-8 or GB18030 text"
            ) from None
    if "\x00" in text:
        raise RosterRefused.because(RosterProblem.UNREADABLE, "a NUL character: not a text file")
    return _Closing(_csv_values(text))


def _csv_values(text: str) -> Iterator[tuple[int, tuple[object, ...]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise RosterRefused.because(
                RosterProblem.UNREADABLE, f"line {start}: {error}"
            ) from None
        yield start, tuple(cells[:MAX_COLUMNS])


class _Closing:
    """A row generator that the reader may stop early and close (openpyxl's file included)."""

    def __init__(self, rows: Iterator[tuple[int, tuple[object, ...]]]) -> None:
        self._rows = rows

    def __iter__(self) -> _Closing:
        return self

    def __next__(self) -> tuple[int, tuple[object, ...]]:
        return next(self._rows)

    def close(self) -> None:
        close = getattr(self._rows, "close", None)
        if close is not None:
            close()


def roster_template() -> bytes:
    """A blank roster workbook: the two columns, the ID column formatted as text (so that Excel
    keeps all 18 characters). No example row: it would be uploaded along by mistake."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "roster"
    sheet.append(list(TEMPLATE_HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 16
    # The whole column as text (a column style), not cell by cell: formatted empty cells
    # would count as rows, and a roster appended below them would start at row 1002.
    sheet.column_dimensions["A"].number_format = "@"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
