"""Import the people registry (fed from the social-security system) from CSV or XLSX."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from skillvoucher.application.context import AppContext
from skillvoucher.application.imports import (
    ImportReport,
    ProgressCallback,
    chunked,
    content_digest,
    write_in_chunks,
)
from skillvoucher.application.tabular import Row, read_rows
from skillvoucher.domain.errors import DomainError
from skillvoucher.domain.identity import (
    mask_resident_id,
    parse_resident_id,
    validate_credit_code,
    validate_mobile,
)
from skillvoucher.domain.people import CardStatus, TargetGroup, groups_to_mask
from skillvoucher.domain.regions import province_code
from skillvoucher.domain.row_problems import RowProblem
from skillvoucher.persistence.read_models.people_search import registered_outside

PEOPLE_COLUMNS = ("resident_id", "name", "household_region")
OPTIONAL_COLUMNS = ("mobile", "card_status", "employer_credit_code", "target_groups")


def import_people(
    ctx: AppContext,
    path: Path,
    progress: ProgressCallback | None = None,
    *,
    region_prefix: str = "",
) -> ImportReport:
    """Insert new people, update changed ones, report bad rows by line; re-runnable.

    Rows whose household region does not start with ``region_prefix`` (an uploader's region
    scope; "" for the whole country), or that name a person registered outside it, are
    reported as problems and not written: a scoped import can neither add nor move people
    outside its scope.
    """
    report = ImportReport()
    rows = read_rows(path, PEOPLE_COLUMNS)
    with ctx.unit_of_work() as uow:
        known_regions = uow.regions.existing_codes()
    allowed = {code for code in known_regions if code.startswith(region_prefix)}
    seen: dict[str, int] = {}
    valid = _validated(ctx, rows, known_regions, allowed, seen, report)
    if region_prefix:
        valid = _not_registered_elsewhere(ctx, valid, region_prefix, seen, report)
    write_in_chunks(
        ctx,
        valid,
        lambda uow, chunk: uow.people.upsert_many(chunk),
        action="registry.people_imported",
        source=path.name,
        report=report,
        progress=progress,
    )
    return report


def _validated(
    ctx: AppContext,
    rows: Iterator[tuple[int, Row]],
    known_regions: set[str],
    allowed_regions: set[str],
    seen: dict[str, int],
    report: ImportReport,
) -> Iterator[dict[str, Any]]:
    for line, row in rows:
        try:
            person = _person_row(ctx, row, known_regions, allowed_regions)
        except DomainError as error:
            report.problems.append(RowProblem(line, error.message, _masked(row)))
            continue
        earlier = seen.get(person["id_digest"])
        if earlier is not None:
            report.problems.append(
                RowProblem(line, f"same resident ID as line {earlier}", person["id_masked"])
            )
            continue
        seen[person["id_digest"]] = line
        yield person


def _not_registered_elsewhere(
    ctx: AppContext,
    rows: Iterator[dict[str, Any]],
    region_prefix: str,
    seen: dict[str, int],
    report: ImportReport,
) -> Iterator[dict[str, Any]]:
    for chunk in chunked(rows, ctx.settings.chunk_size):
        with ctx.unit_of_work() as uow:
            elsewhere = registered_outside(
                uow.session, region_prefix, [r["id_digest"] for r in chunk]
            )
        for row in chunk:
            if row["id_digest"] in elsewhere:
                report.problems.append(
                    RowProblem(
                        seen[row["id_digest"]],
                        "the person is registered outside the regions you may import",
                        row["id_masked"],
                    )
                )
            else:
                yield row


def _masked(row: Row) -> str | None:
    raw = row.get("resident_id", "")
    return mask_resident_id(raw) if len(raw) == 18 else None


class _BadRow(DomainError):
    code = "invalid_row"


def _person_row(
    ctx: AppContext, row: Row, known_regions: set[str], allowed_regions: set[str]
) -> dict[str, Any]:
    resident = parse_resident_id(row["resident_id"])
    name = row["name"]
    if not 1 <= len(name) <= 50:
        raise _BadRow("name must have 1 to 50 characters")
    region = row["household_region"]
    if region not in known_regions:
        raise _BadRow(f"household region {region!r} is not a known region code")
    if region not in allowed_regions:
        raise _BadRow(f"household region {region!r} is outside the regions you may import")
    mobile = validate_mobile(row["mobile"]) if row.get("mobile") else None
    try:
        card = CardStatus(row.get("card_status") or CardStatus.ACTIVE.value)
    except ValueError:
        raise _BadRow(f"card_status must be one of {', '.join(CardStatus)}") from None
    employer = row.get("employer_credit_code") or None
    if employer is not None:
        employer = validate_credit_code(employer)
    groups = set()
    for label in filter(None, (g.strip() for g in row.get("target_groups", "").split(";"))):
        try:
            groups.add(TargetGroup(label))
        except ValueError:
            raise _BadRow(f"unknown target group {label!r}") from None
    values = {
        "id_masked": mask_resident_id(resident.number),
        "name": name,
        "mobile": mobile,
        "birth_date": resident.birth_date,
        "sex": resident.sex,
        "household_region": region,
        "province_code": province_code(region),
        "card_status": card,
        "employer_credit_code": employer,
        "target_groups_mask": groups_to_mask(groups),
    }
    return {
        **values,
        "id_digest": ctx.digest(resident.number),
        "content_digest": content_digest(values),
    }
