"""Read CSV and XLSX files as numbered rows of text, streaming (a registry file can be huge)."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from pathlib import Path

from skillvoucher.domain.errors import InvalidInput

Row = dict[str, str]


def read_rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, Row]]:
    """Yield (file line number, row) with lower-cased headers and stripped text cells.

    Raises InvalidInput before yielding anything when the file cannot be read or lacks a
    required column, so a wrong file never half-imports.
    """
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InvalidInput(f"{path} does not exist")
    if suffix == ".csv":
        rows = _csv_rows(path)
    elif suffix == ".xlsx":
        rows = _xlsx_rows(path)
    else:
        raise InvalidInput(f"{path.name}: only .csv and .xlsx files can be imported")
    try:
        header = next(rows)[1]
    except StopIteration:
        raise InvalidInput(f"{path.name} is empty") from None
    columns = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in columns]
    if missing:
        raise InvalidInput(f"{path.name} lacks the column(s): {', '.join(missing)}")
    return _as_dicts(columns, rows)


def _as_dicts(
    columns: list[str], rows: Iterator[tuple[int, list[str]]]
) -> Iterator[tuple[int, Row]]:
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        padded = list(cells) + [""] * (len(columns) - len(cells))
        yield line, {col: padded[i].strip() for i, col in enumerate(columns) if col}


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}") from None
    with handle:
        reader = csv.reader(handle)
        while True:
            # A quoted cell may span lines: a row is numbered by the line where it starts.
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (UnicodeDecodeError, csv.Error) as error:
                raise InvalidInput(f"{path.name} near line {start}: {error}") from None
            yield start, cells


def _xlsx_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # imported here: only XLSX imports pay for it

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken file
        raise InvalidInput(f"{path.name} is not a readable XLSX file: {error}") from None
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, [_cell_text(v) for v in values]
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores whole numbers as floats
    return str(value)
