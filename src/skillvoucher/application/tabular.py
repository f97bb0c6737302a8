"""Read CSV and XLSX files as numbered rows of text, streaming (a registry file can be huge)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Generator, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path

from skillvoucher.domain.errors import InvalidInput

Row = dict[str, str]
Cells = Generator[tuple[int, list[str]], None, None]


def read_rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, Row]]:
    """Yield (file line number, row) with lower-cased headers and stripped text cells.

    Raises InvalidInput before yielding anything when the file cannot be read or lacks a
    required column, so a wrong file never half-imports.
    """
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InvalidInput(f"{path} does not exist")
    if suffix == ".csv":
        read = _csv_rows
    elif suffix == ".xlsx":
        read = _xlsx_rows
    else:
        raise InvalidInput(f"{path.name}: only .csv and .xlsx files can be imported")
    _check_whole_file(path, read)
    rows = read(path)
    try:
        header = next(rows)[1]
    except StopIteration:
        raise InvalidInput(f"{path.name} is empty") from None
    columns = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in columns]
    if missing:
        rows.close()
        raise InvalidInput(f"{path.name} lacks the column(s): {', '.join(missing)}")
    return _as_dicts(columns, rows)


def _check_whole_file(path: Path, read: Callable[[Path], Cells]) -> None:
    """Read the whole file once before any row is handed out.

    Importers commit chunk by chunk, so a file that turns out unreadable at its 10,000th line
    would otherwise leave its first chunks written. A NUL character is refused too: no text
    column may hold one (PostgreSQL cannot store it), and it nearly always means a file in
    another encoding, such as UTF-16 without a byte order mark.
    """
    rows = read(path)
    try:
        for line, cells in rows:
            if any("\x00" in cell for cell in cells):
                raise InvalidInput(
                    f"{path.name} line {line} holds a NUL character: is it UTF-8 text?"
                )
    finally:
        rows.close()


def _as_dicts(columns: list[str], rows: Cells) -> Iterator[tuple[int, Row]]:
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        padded = list(cells) + [""] * (len(columns) - len(cells))
        yield line, {col: padded[i].strip() for i, col in enumerate(columns) if col}


def _csv_rows(path: Path) -> Cells:
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


def _xlsx_rows(path: Path) -> Cells:
    from openpyxl import load_workbook  # imported here: only XLSX imports pay for it

    # Opened here, not by openpyxl: openpyxl leaves its own handle open when a file is broken.
    try:
        handle = path.open("rb")
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}") from None
    with handle:
        try:
            workbook = load_workbook(handle, read_only=True, data_only=True)
        except Exception as error:  # openpyxl raises many kinds for a broken file
            raise InvalidInput(f"{path.name} is not a readable XLSX file: {error}") from None
        try:
            # Read-only mode parses a sheet only while iterating it: a broken sheet fails here.
            values_of_rows = _rows_or_invalid(path, lambda: iter(workbook.worksheets[0].values))
            for number, values in enumerate(values_of_rows, start=1):
                yield number, [_cell_text(v) for v in values]
        finally:
            workbook.close()


def _rows_or_invalid(
    path: Path, open_rows: Callable[[], Iterator[tuple[object, ...]]]
) -> Iterator[tuple[object, ...]]:
    """The sheet's rows, with any failure of openpyxl to read one turned into InvalidInput."""
    rows: Iterator[tuple[object, ...]] | None = None
    while True:
        try:
            if rows is None:
                rows = open_rows()
            values = next(rows)
        except StopIteration:
            return
        except Exception as error:  # openpyxl raises many kinds for a broken sheet
            raise InvalidInput(f"{path.name} has an unreadable sheet: {error}") from None
        yield values


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
