"""Hostile import files: every importer either reports bad rows or refuses the file, and never
writes part of a file it refused.

Properties, for the people, institutions, courses, regions and attendance importers, fed CSV
(in several encodings, with NUL bytes, formula injection, huge fields, ragged rows, duplicated
or missing headers) and XLSX (typed cells, files that are not zips, zips that are not XLSX,
XLSX with a corrupted member):

* the call returns a report whose problems each name a line of the file and a reason, or
  raises a DomainError; no other exception;
* raised: no table changed (the domain tables and the audit trail);
* returned: the table grew by exactly the rows reported as inserted (recorded), and running
  the same file again changes nothing and reports the same problems.

Hypothesis examples share one database per test (each example writes a new file), so later
examples also meet rows that earlier ones wrote: updates, duplicates and unchanged rows.
"""

from __future__ import annotations

import csv
import io
import itertools
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from builders import (
    CITY,
    PEOPLE_HEADER,
    Clock,
    credit_code,
    enrol,
    issue,
    people_row,
    person,
    training_world,
)
from skillvoucher.application.attendance_import import ATTENDANCE_COLUMNS, record_attendance_file
from skillvoucher.application.catalogue_import import (
    COURSE_COLUMNS,
    INSTITUTION_COLUMNS,
    import_courses,
    import_institutions,
)
from skillvoucher.application.context import AppContext
from skillvoucher.application.regions_import import import_regions
from skillvoucher.application.registry_import import import_people
from skillvoucher.domain.errors import DomainError
from skillvoucher.domain.regions import CSV_COLUMNS
from skillvoucher.persistence.tables import (
    AttendanceEvent,
    AuditEvent,
    Base,
    Course,
    Institution,
    Person,
    Region,
)

# --- cells -------------------------------------------------------------------------------------

FORMULAS = ["=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example")', "+1+1", "-2+3", "@SUM(A1)"]
NUMBERS = [
    "1e309",
    "-1e309",
    "-0",
    "NaN",
    "nan",
    "inf",
    "1_000",
    "١٢٣",
    "１２",
    "9" * 5000,
    "-1",
    "0",
]
NUMBERS += ["1", "40", "480", "1.5", "0x10", " 7 ", "2000", "100000", "10000000", "10000001"]
DATES = ["2026-02-30", "2026-03-01", "2026-13-01", "9999-12-31", "0001-01-01", "20260301"]
DATES += ["2026-3-1", "2026-03-01T09:00+08:00", "2026-03-01T09:00", "2026-02-28T23:59:59+14:00"]
REGIONS = [
    CITY,
    "140105",
    "140000",
    "140200",
    "999999",
    "140199",
    "000000",
    "１４０１００",
    "14010",
]
TEXT = ["", " ", "\x00", "a\x00b", "王" * 51, "x" * 200, "x" * 70_000, "\u202egnp.exe", "😀"]
TEXT += ['"', ",", "a\nb", "a\r\nb", "\ufeff", "NULL", "None", "'; DROP TABLE people; --"]
ENUMS = ["active", "inactive", "approved", "suspended", "pending", "both", "offline", "online"]
ENUMS += ["junior", "intermediate", "senior", "face", "card", "qr", "platform", "unemployed"]
ENUMS += ["unemployed;laid_off", "astronaut", "Active"]


def _resident_ids() -> list[str]:
    good = [str(people_row(person(name=f"模糊{i}"))[0]) for i in range(4)]
    bad_check = good[0][:-1] + ("0" if good[0][-1] != "0" else "1")
    return [*good, bad_check, good[1][:-1], good[2].lower(), "11010519491231002X", "x" * 18]


VOUCHER_IDS: list[str] = []  # filled by the attendance test with real enrolled vouchers
POOL = st.sampled_from(
    [
        *FORMULAS,
        *NUMBERS,
        *DATES,
        *REGIONS,
        *TEXT,
        *ENUMS,
        *_resident_ids(),
        credit_code(),
        credit_code()[:-1] + "0",
        "4-10-01-02",
        "4-99-99-99",
        "C1",
        str(uuid.uuid4()),
    ]
)
CELL = st.one_of(POOL, POOL, st.text(max_size=12))


@st.composite
def headers(draw: st.DrawFn, required: Sequence[str], optional: Sequence[str]) -> list[str]:
    """Mostly the expected columns, shuffled, sometimes one missing, duplicated or renamed."""
    columns = list(required) + draw(st.lists(st.sampled_from(list(optional) or [""]), max_size=3))
    columns = draw(st.permutations(columns))
    kind = draw(st.sampled_from(["as is", "as is", "drop", "duplicate", "junk", "case"]))
    if kind == "drop":
        columns.pop(draw(st.integers(0, len(columns) - 1)))
    elif kind == "duplicate":
        columns.append(draw(st.sampled_from(columns)))
    elif kind == "junk":
        columns.insert(draw(st.integers(0, len(columns))), draw(st.sampled_from(["", "x", "="])))
    elif kind == "case":
        columns = [f" {c.upper()} " for c in columns]
    return columns


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


Good = st.SearchStrategy[dict[str, str]]


def tables(
    required: Sequence[str], optional: Sequence[str] = (), good: Good | None = None
) -> st.SearchStrategy[Table]:
    """Rows of hostile cells, ragged or exact, and (with ``good``) rows that are right or
    nearly so, laid out in whatever column order the drawn header has."""

    def rows_for(header: list[str]) -> st.SearchStrategy[Table]:
        width = len(header)
        kinds = [
            st.lists(CELL, min_size=width, max_size=width),
            st.lists(CELL, min_size=max(width - 2, 0), max_size=width + 2),
        ]
        if good is not None:
            laid_out = good.map(lambda row: [row.get(c.strip().lower(), "") for c in header])
            nearly = st.tuples(laid_out, st.integers(0, max(width - 1, 0)), CELL).map(
                lambda t: [t[2] if i == t[1] else c for i, c in enumerate(t[0])]
            )
            kinds += [laid_out, laid_out, nearly]
        return st.lists(st.one_of(kinds), max_size=8).map(lambda rows: Table(header, rows))

    return headers(required, optional).flatmap(rows_for)


# --- files -------------------------------------------------------------------------------------

ENCODINGS = ["utf-8", "utf-8", "utf-8-sig", "gbk", "utf-16", "utf-16-le", "latin-1"]
_names = itertools.count(1)


@dataclass(frozen=True)
class HostileFile:
    suffix: str  # ".csv" or ".xlsx": what the name claims, whatever the content is
    content: bytes
    lines: int  # an upper bound on the line (row) numbers a report may name


def csv_bytes(table: Table, encoding: str) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(table.header)
    writer.writerows(table.rows)
    return out.getvalue().encode(encoding, errors="replace")


@st.composite
def csv_files(draw: st.DrawFn, table_strategy: st.SearchStrategy[Table]) -> HostileFile:
    content = csv_bytes(draw(table_strategy), draw(st.sampled_from(ENCODINGS)))
    damage = draw(st.sampled_from(["none", "none", "nul", "tail", "cut", "bytes"]))
    if damage == "nul":
        at = draw(st.integers(0, 10**6)) % (len(content) + 1)
        content = content[:at] + b"\x00" + content[at:]
    elif damage == "tail":
        content += draw(st.binary(min_size=1, max_size=40))
    elif damage == "cut":
        content = content[: draw(st.integers(0, 10**6)) % (len(content) + 1)]
    elif damage == "bytes":
        content = draw(st.binary(max_size=300))
    return HostileFile(".csv", content, content.count(b"\n") + content.count(b"\r") + 2)


def _xlsx_cell(text: str, typed: int) -> object:
    """The cell as a string, or as a number or date where a spreadsheet would type it."""
    if typed == 1:
        try:
            return float(text) if "." in text or "e" in text.lower() else int(text)
        except ValueError:
            pass
    if typed == 2:
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    # openpyxl refuses control characters that XML cannot hold; a spreadsheet cannot have them.
    return ILLEGAL_CHARACTERS_RE.sub("", text)[:32_767]


def xlsx_bytes(table: Table, typed: Sequence[int]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([_xlsx_cell(h, 0) for h in table.header])
    for r, row in enumerate(table.rows):
        sheet.append([_xlsx_cell(c, typed[(r + i) % len(typed)]) for i, c in enumerate(row)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _rezip(content: bytes, change: Callable[[str, bytes], bytes | None]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = change(info.filename, source.read(info))
            if data is not None:
                target.writestr(info.filename, data)
    return out.getvalue()


@st.composite
def xlsx_files(draw: st.DrawFn, table_strategy: st.SearchStrategy[Table]) -> HostileFile:
    table = draw(table_strategy)
    content = xlsx_bytes(table, draw(st.lists(st.integers(0, 2), min_size=1, max_size=5)))
    damage = draw(
        st.sampled_from(["none", "none", "none", "not a zip", "other zip", "cut", "member"])
    )
    if damage == "not a zip":
        content = draw(st.sampled_from([csv_bytes(table, "utf-8"), b"", b"PK\x03\x04"]))
    elif damage == "other zip":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr(draw(st.sampled_from(["a.txt", "[Content_Types].xml"])), b"<x/>")
        content = out.getvalue()
    elif damage == "cut":
        content = content[: draw(st.integers(0, 10**6)) % (len(content) + 1)]
    elif damage == "member":
        victim = draw(
            st.sampled_from(
                ["xl/worksheets/sheet1.xml", "xl/workbook.xml", "xl/styles.xml", "xl/sharedStrings"]
            )
        )
        how = draw(st.sampled_from(["drop", "cut", "garbage"]))
        garbage = draw(st.binary(max_size=50))

        def change(name: str, data: bytes) -> bytes | None:
            if not name.startswith(victim):
                return data
            return None if how == "drop" else data[: len(data) // 2] if how == "cut" else garbage

        content = _rezip(content, change)
    return HostileFile(".xlsx", content, len(table.rows) + 2)


def files(
    required: Sequence[str], optional: Sequence[str] = (), good: Good | None = None
) -> st.SearchStrategy[HostileFile]:
    table_strategy = tables(required, optional, good)
    return st.one_of(
        csv_files(table_strategy), csv_files(table_strategy), xlsx_files(table_strategy)
    )


def csv_file(header: Sequence[str], rows: list[list[str]], tail: bytes = b"") -> HostileFile:
    """A fixed file for @example: the regressions the properties found."""
    content = csv_bytes(Table(list(header), rows), "utf-8") + tail
    return HostileFile(".csv", content, len(rows) + 3)


# --- the property ------------------------------------------------------------------------------

Import = Callable[[AppContext, Path], Any]


def row_counts(ctx: AppContext, tables_: Sequence[type[Base]]) -> dict[str, int]:
    with ctx.unit_of_work() as uow:
        return {
            t.__tablename__: uow.session.execute(
                sa.select(sa.func.count()).select_from(t)
            ).scalar_one()
            for t in tables_
        }


def written(report: Any) -> int:
    """Rows the report says it added: ``inserted`` (ImportReport) or ``recorded`` (attendance)."""
    count = report.inserted if hasattr(report, "inserted") else report.recorded
    assert isinstance(count, int)
    return count


def note_event(text: str) -> None:
    """Tally what happened, for --hypothesis-show-statistics; regressions run outside @given."""
    if currently_in_test_context():
        event(text)


def check_import(
    ctx: AppContext, run: Import, file: HostileFile, table: type[Base], *others: type[Base]
) -> None:
    """Run one hostile file through ``run`` twice and check the properties of this module."""
    path = ctx.settings.data_dir / f"hostile-{next(_names)}{file.suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(file.content)
    watched: list[type[Base]] = [table, *others, AuditEvent]
    before = row_counts(ctx, watched)
    try:
        report = run(ctx, path)
    except DomainError as error:
        assert row_counts(ctx, watched) == before, "a refused file changed the database"
        note_event(f"refused: {error.code}")
        return
    note_event(
        f"rows written: {min(written(report), 3)}+, problems: {min(len(report.problems), 3)}+"
    )
    for problem in report.problems:
        assert 1 <= problem.line <= file.lines, f"{problem} is not a line of the file"
        assert problem.reason.strip()
    after = row_counts(ctx, watched)
    name = table.__tablename__
    assert after[name] - before[name] == written(report), "rows written != rows reported"
    assert all(after[t.__tablename__] == before[t.__tablename__] for t in others)

    again = run(ctx, path)
    assert written(again) == 0, "a re-run added rows"
    assert getattr(again, "updated", 0) == 0, "a re-run changed rows"
    assert row_counts(ctx, watched[:-1]) == {
        k: v for k, v in after.items() if k != AuditEvent.__tablename__
    }
    assert [p.line for p in again.problems] == [p.line for p in report.problems]


def bounded(ctx: AppContext, sqlite: int, postgres: int) -> settings:
    """Few examples on PostgreSQL (each costs a round trip per statement), more on SQLite."""
    return settings(
        max_examples=sqlite if ctx.engine.dialect.name == "sqlite" else postgres,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# --- the importers -----------------------------------------------------------------------------

GOOD_PEOPLE = [
    people_row(person(name=f"良民{i}", region=r)) for i, r in enumerate([CITY, "140105"] * 8)
]
PEOPLE_GOOD: Good = st.sampled_from(GOOD_PEOPLE).map(
    lambda row: {c: str(v) for c, v in zip(PEOPLE_HEADER, row, strict=True)}
)


def test_people_import_survives_hostile_files(ctx: AppContext) -> None:
    @bounded(ctx, sqlite=80, postgres=25)
    @given(files(("resident_id", "name", "household_region"), PEOPLE_HEADER[3:], PEOPLE_GOOD))
    def run(file: HostileFile) -> None:
        check_import(ctx, import_people, file, Person)

    run()


INSTITUTION_GOOD: Good = st.fixed_dictionaries(
    {
        "credit_code": st.sampled_from([credit_code() for _ in range(6)]),
        "name": st.sampled_from(
            ["太原市晋阳职业技能培训学校", "某某培训中心", "x" * 120, "x" * 121]
        ),
        "region_code": st.sampled_from([CITY, "140105", "140200"]),
        "approval_status": st.sampled_from(["approved", "pending", "suspended", "revoked"]),
        "delivery_modes": st.sampled_from(["online", "offline", "both"]),
    }
)


def test_institution_import_survives_hostile_files(ctx: AppContext) -> None:
    @bounded(ctx, sqlite=60, postgres=25)
    @given(files(INSTITUTION_COLUMNS, (), INSTITUTION_GOOD))
    @example(
        csv_file(INSTITUTION_COLUMNS, [[credit_code(), "某\x00学校", CITY, "approved", "both"]])
    )
    def run(file: HostileFile) -> None:
        check_import(ctx, import_institutions, file, Institution)

    run()


COURSE_TAIL = ["4-10-01-02", "5", "80", "160000", "offline", "100", "2026-03-01", "2035-12-31"]


def test_course_import_survives_hostile_files(ctx: AppContext) -> None:
    world = training_world(ctx, people=1)
    good: Good = st.fixed_dictionaries(
        {
            "institution_credit_code": st.just(world.institution),
            "course_code": st.sampled_from(["C1", "C2", "C3", "C" * 40]),
            "name": st.sampled_from(["育婴员(五级)", "电工(四级)", "x" * 120, "x" * 121]),
            "occupation_code": st.sampled_from(["4-10-01-02", "4-99-99-99"]),
            "occupation_name": st.sampled_from(["", "某职业", "y" * 60, "y" * 61]),
            "skill_level": st.sampled_from(["5", "4", "3"]),
            "hours": st.sampled_from(["80", "1", "2000"]),
            "price_fen": st.sampled_from(["160000", "0", "10000000"]),
            "mode": st.sampled_from(["offline", "online"]),
            "capacity": st.sampled_from(["100", "1", "100000"]),
            "start_date": st.sampled_from(["2026-03-01", "2026-02-28"]),
            "end_date": st.sampled_from(["2035-12-31", "2026-03-01"]),
        }
    )

    @bounded(ctx, sqlite=60, postgres=25)
    @given(files(COURSE_COLUMNS, ("occupation_name",), good))
    @example(csv_file(COURSE_COLUMNS, [[str(c) for c in world.course.row(world.institution)]]))
    @example(  # a NUL in a name: PostgreSQL refused it mid-import (DataError)
        csv_file(COURSE_COLUMNS, [[world.institution, "C9", "育\x00婴", *COURSE_TAIL]])
    )
    @example(  # a name wider than its column: PostgreSQL refused it mid-import (DataError)
        csv_file(COURSE_COLUMNS, [[world.institution, "C9", "x" * 121, *COURSE_TAIL]])
    )
    def run(file: HostileFile) -> None:
        check_import(ctx, import_courses, file, Course, Institution)

    run()


REGION_GOOD: Good = st.fixed_dictionaries(
    {
        "code": st.sampled_from(["140108", "140109", "140110", "149900", "140100", "140199"]),
        "name": st.sampled_from(["新区", "太原市", "z" * 60, "z" * 61]),
        "name_en": st.sampled_from(["", "New District", "z" * 80]),
    }
)


def test_regions_import_survives_hostile_files(ctx: AppContext) -> None:
    @bounded(ctx, sqlite=60, postgres=25)
    @given(csv_files(tables(("code", "name", "name_en"), (), REGION_GOOD)))
    @example(csv_file(CSV_COLUMNS, [], b"\x80"))  # not UTF-8: was a UnicodeDecodeError
    @example(csv_file(CSV_COLUMNS, [["140108", "新\x00区", ""]]))  # NUL: PostgreSQL DataError
    @example(csv_file(CSV_COLUMNS, [["140108", "z" * 61, ""]]))  # too wide: PostgreSQL DataError
    def run(file: HostileFile) -> None:
        check_import(ctx, import_regions, file, Region)

    shipped = _regions(ctx)
    try:
        run()
    finally:
        _restore_regions(ctx, shipped)


def _regions(ctx: AppContext) -> list[dict[str, Any]]:
    with ctx.unit_of_work() as uow:
        return [
            dict(r._mapping)
            for r in uow.session.execute(sa.select(Region.__table__).order_by(Region.code))
        ]


def _restore_regions(ctx: AppContext, shipped: list[dict[str, Any]]) -> None:
    """Put the shipped regions back: the PostgreSQL test database keeps its regions table
    from test to test (only SQLite starts each test from a fresh copy)."""
    # Level and parent follow from the code; only the names can have been changed.
    table = sa.table("regions", sa.column("code"), sa.column("name"), sa.column("name_en"))
    with ctx.unit_of_work() as uow:
        codes = [r["code"] for r in shipped]
        uow.session.execute(sa.delete(table).where(table.c.code.not_in(codes)))
        for row in shipped:
            uow.session.execute(
                sa.update(table)
                .where(table.c.code == row["code"])
                .values(name=row["name"], name_en=row["name_en"])
            )
        uow.commit()
    assert _regions(ctx) == shipped


def test_attendance_import_survives_hostile_files(ctx: AppContext, clock: Clock) -> None:
    world = training_world(ctx, people=2)
    vouchers = []
    for holder in world.people:
        vouchers.append(str(issue(ctx, world.scheme.code, holder).voucher_id))
        enrol(ctx, uuid.UUID(vouchers[-1]), world.institution)
    start = clock.now
    clock.advance(timedelta(days=3))
    times = [start + timedelta(hours=h) for h in (1, 2, 25, 26, 49, 200)]
    good: Good = st.fixed_dictionaries(
        {
            "voucher_id": st.sampled_from(vouchers),
            "source": st.sampled_from(["face", "card", "qr", "online"]),
            "minutes": st.sampled_from(["60", "240", "1440"]),
            "occurred_at": st.sampled_from([t.isoformat() for t in times]),
            "device_id": st.sampled_from(["", "d1", "d" * 64, "d" * 65]),
        }
    )

    @bounded(ctx, sqlite=60, postgres=25)
    @given(files(ATTENDANCE_COLUMNS, ("device_id",), good))
    @example(  # too wide for its column: PostgreSQL DataError, and SQLite stored it
        csv_file(
            [*ATTENDANCE_COLUMNS, "device_id"],
            [[vouchers[0], "face", "60", times[0].isoformat(), "d" * 65]],
        )
    )
    def run(file: HostileFile) -> None:
        check_import(ctx, record_attendance_file, file, AttendanceEvent)

    run()


# --- regressions: each found by the properties above -------------------------------------------


def write_file(ctx: AppContext, name: str, content: bytes) -> Path:
    path = ctx.settings.data_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_a_people_file_unreadable_after_its_first_chunks_writes_nothing(ctx: AppContext) -> None:
    """The importers commit chunk by chunk (50 rows in tests): a file that is valid for 200 rows
    and then not UTF-8 must be refused whole, not after two chunks were written."""
    rows = [people_row(person(name=f"前{i}")) for i in range(200)]
    good = csv_bytes(Table(list(PEOPLE_HEADER), [[str(c) for c in r] for r in rows]), "utf-8")
    assert len(good) > 8192  # past the first buffer the decoder reads: the error comes late
    path = write_file(ctx, "late-garbage.csv", good + "王,五\n".encode("gbk"))

    check_import(ctx, import_people, HostileFile(".csv", path.read_bytes(), 200), Person)
    assert row_counts(ctx, [Person]) == {"people": 0}


def test_a_broken_sheet_inside_a_valid_xlsx_is_refused(ctx: AppContext) -> None:
    content = xlsx_bytes(Table(list(PEOPLE_HEADER), [["1"] * 7] * 3), [0])
    broken = _rezip(content, lambda n, d: d[: len(d) // 2] if "worksheets/sheet1" in n else d)
    path = write_file(ctx, "broken.xlsx", broken)

    with pytest.raises(DomainError, match="unreadable sheet"):
        import_people(ctx, path)


def test_overlong_text_cells_are_row_problems_not_database_errors(
    ctx: AppContext, clock: Clock
) -> None:
    """PostgreSQL refuses a value wider than its column (SQLite stores it): each width is
    checked before writing, so both databases report the same row problem."""
    world = training_world(ctx, people=1)
    voucher = issue(ctx, world.scheme.code, world.people[0]).voucher_id
    enrol(ctx, voucher, world.institution)
    at = clock.now.isoformat()
    clock.advance(timedelta(hours=2))
    course = [str(v) for v in world.course.row(world.institution)]
    cases: list[tuple[Import, Sequence[str], list[list[str]], type[Base]]] = [
        (
            import_courses,
            COURSE_COLUMNS,
            [[*course[:2], "x" * 121, *course[3:]]],
            Course,
        ),
        (
            import_courses,
            [*COURSE_COLUMNS, "occupation_name"],
            [[*course, "y" * 61]],
            Course,
        ),
        (
            record_attendance_file,
            [*ATTENDANCE_COLUMNS, "device_id"],
            [[str(voucher), "face", "60", at, "d" * 65]],
            AttendanceEvent,
        ),
        (import_regions, ["code", "name", "name_en"], [["140108", "z" * 61, ""]], Region),
    ]
    for number, (run, header, rows, table) in enumerate(cases):
        path = write_file(ctx, f"wide-{number}.csv", csv_bytes(Table(list(header), rows), "utf-8"))
        before = row_counts(ctx, [table])
        report = run(ctx, path)
        assert [p.line for p in report.problems] == [2], (header, report)
        assert row_counts(ctx, [table]) == before
