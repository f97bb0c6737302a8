"""Import training institutions and their courses from CSV or XLSX.

The files are the bureau's own: a new course comes in approved (the column default), and an
institution takes the file's approval status. An administrator's decision outranks a re-import:
a suspended or refused institution, and a refused (or pending) course, keep their status, and
the report carries a note for each such row.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from skillvoucher.application.context import AppContext
from skillvoucher.application.imports import (
    ImportReport,
    ProgressCallback,
    content_digest,
    write_in_chunks,
)
from skillvoucher.application.tabular import Row, read_rows
from skillvoucher.domain.catalogue import ApprovalStatus, CourseMode, DeliveryModes, SkillLevel
from skillvoucher.domain.errors import DomainError, InvalidInput
from skillvoucher.domain.identity import validate_credit_code
from skillvoucher.domain.occupations import builtin_occupations, validate_occupation_code
from skillvoucher.domain.regions import province_code
from skillvoucher.domain.row_problems import RowProblem

INSTITUTION_COLUMNS = ("credit_code", "name", "region_code", "approval_status", "delivery_modes")
COURSE_COLUMNS = (
    "institution_credit_code",
    "course_code",
    "name",
    "occupation_code",
    "skill_level",
    "hours",
    "price_fen",
    "mode",
    "capacity",
    "start_date",
    "end_date",
)


def _choice(enum_cls: Any, value: str, column: str) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise InvalidInput(f"{column} must be one of {allowed}, not {value!r}") from None


def _whole(value: str, column: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{column} must be a whole number, not {value!r}") from None
    if not low <= number <= high:
        raise InvalidInput(f"{column} must be between {low} and {high}")
    return number


def _day(value: str, column: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{column} must be a date like 2026-03-01, not {value!r}") from None


def import_institutions(
    ctx: AppContext, path: Path, progress: ProgressCallback | None = None
) -> ImportReport:
    report = ImportReport()
    with ctx.unit_of_work() as uow:
        regions = uow.regions.existing_codes()
    good: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for line, row in read_rows(path, INSTITUTION_COLUMNS):
        try:
            values = _institution(row, regions)
        except DomainError as error:
            report.problems.append(RowProblem(line, error.message, row.get("credit_code")))
            continue
        if values["credit_code"] in seen:
            report.problems.append(
                RowProblem(line, f"same credit code as line {seen[values['credit_code']]}")
            )
            continue
        seen[values["credit_code"]] = line
        good.append(values)
    _note_refused_institutions(ctx, good, seen, report)
    write_in_chunks(
        ctx,
        good,
        lambda uow, chunk: uow.catalogue.upsert_institutions(chunk),
        action="catalogue.institutions_imported",
        source=path.name,
        report=report,
        progress=progress,
    )
    return report


def _note_refused_institutions(
    ctx: AppContext, rows: list[dict[str, Any]], lines: dict[str, int], report: ImportReport
) -> None:
    """An institution an administrator refused stays refused whatever the file says (the
    repository's upsert keeps its status); the uploader is told so, row by row."""
    with ctx.unit_of_work() as uow:
        refused = uow.catalogue.refused_institutions([r["credit_code"] for r in rows])
    for row in rows:
        code = row["credit_code"]
        if code in refused and row["approval_status"] is not ApprovalStatus.REVOKED:
            reason = f" ({refused[code]})" if refused[code] else ""
            report.notes.append(
                RowProblem(
                    lines[code],
                    f"refused by an administrator{reason}: stays refused, the file's "
                    f"{row['approval_status'].value} is not applied",
                    code,
                )
            )


def _institution(row: Row, regions: set[str]) -> dict[str, Any]:
    code = validate_credit_code(row["credit_code"])
    if not 2 <= len(row["name"]) <= 120:
        raise InvalidInput("name must have 2 to 120 characters")
    if row["region_code"] not in regions:
        raise InvalidInput(f"region {row['region_code']!r} is not a known region code")
    values = {
        "credit_code": code,
        "name": row["name"],
        "region_code": row["region_code"],
        "province_code": province_code(row["region_code"]),
        "approval_status": _choice(ApprovalStatus, row["approval_status"], "approval_status"),
        "delivery_modes": _choice(DeliveryModes, row["delivery_modes"], "delivery_modes"),
    }
    return {**values, "content_digest": content_digest(values)}


def import_courses(
    ctx: AppContext, path: Path, progress: ProgressCallback | None = None
) -> ImportReport:
    report = ImportReport()
    occupations = {o.code: o.name for o in builtin_occupations()}
    good: list[dict[str, Any]] = []
    seen: dict[tuple[str, str], int] = {}
    rows = list(read_rows(path, COURSE_COLUMNS))
    with ctx.unit_of_work() as uow:
        institutions = {
            i.credit_code: i
            for i in uow.catalogue.institutions()
            if i.credit_code in {r["institution_credit_code"] for _, r in rows}
        }
        taken = uow.catalogue.seats_taken([i.id for i in institutions.values()])
        undecided = uow.catalogue.courses_not_approved([i.id for i in institutions.values()])
    for line, row in rows:
        try:
            values = _course(row, institutions, occupations)
            seats = taken.get((values["institution_id"], values["course_code"]), 0)
            if values["capacity"] < seats:
                raise InvalidInput(
                    f"capacity {values['capacity']} is below the {seats} seats already taken"
                )
        except DomainError as error:
            report.problems.append(RowProblem(line, error.message, row.get("course_code")))
            continue
        key = (row["institution_credit_code"], values["course_code"])
        if key in seen:
            report.problems.append(RowProblem(line, f"same course as line {seen[key]}"))
            continue
        seen[key] = line
        good.append(values)
        standing = undecided.get((values["institution_id"], values["course_code"]))
        if standing is not None:
            report.notes.append(
                RowProblem(
                    line,
                    f"the course is {standing.value} by an administrator and stays so; "
                    "the rest of the row is applied",
                    values["course_code"],
                )
            )
    write_in_chunks(
        ctx,
        good,
        lambda uow, chunk: uow.catalogue.upsert_courses(chunk),
        action="catalogue.courses_imported",
        source=path.name,
        report=report,
        progress=progress,
    )
    return report


def _course(row: Row, institutions: dict[str, Any], occupations: dict[str, str]) -> dict[str, Any]:
    institution = institutions.get(row["institution_credit_code"])
    if institution is None:
        raise InvalidInput(f"institution {row['institution_credit_code']!r} is not imported yet")
    if not 1 <= len(row["course_code"]) <= 40:
        raise InvalidInput("course_code must have 1 to 40 characters")
    if not 1 <= len(row["name"]) <= 120:
        raise InvalidInput("name must have 1 to 120 characters")
    occupation = validate_occupation_code(row["occupation_code"])
    occupation_name = row.get("occupation_name") or occupations.get(occupation)
    if not occupation_name:
        raise InvalidInput(f"occupation {occupation} is not in the catalogue; give occupation_name")
    if len(occupation_name) > 60:
        raise InvalidInput("occupation_name may have at most 60 characters")
    start, end = _day(row["start_date"], "start_date"), _day(row["end_date"], "end_date")
    if end < start:
        raise InvalidInput("end_date is before start_date")
    mode = _choice(CourseMode, row["mode"], "mode")
    if not institution.delivery_modes.allows(mode):
        raise InvalidInput(f"the institution is not approved for {mode.value} training")
    values = {
        "institution_id": institution.id,
        "course_code": row["course_code"],
        "name": row["name"],
        "occupation_code": occupation,
        "occupation_name": occupation_name,
        "skill_level": _choice(SkillLevel, row["skill_level"], "skill_level"),
        "hours": _whole(row["hours"], "hours", 1, 2000),
        "price_fen": _whole(row["price_fen"], "price_fen", 0, 10_000_000),
        "mode": mode,
        "capacity": _whole(row["capacity"], "capacity", 1, 100_000),
        "start_date": start,
        "end_date": end,
        "region_code": institution.region_code,
        "province_code": institution.province_code,
    }
    return {
        **values,
        "content_digest": content_digest({**values, "institution_id": str(institution.id)}),
    }
