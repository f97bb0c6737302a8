"""The people registry, for administrators and auditors within their region.

ID numbers travel only in request bodies (never in a URL, where logs and proxies keep them) and
come back only masked; mobile numbers too.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from skillvoucher.api.auth import Allowed
from skillvoucher.api.dependencies import Context
from skillvoucher.api.problems import PROBLEM_JSON, Problem
from skillvoucher.application.imports import ImportReport
from skillvoucher.application.paging import MAX_PAGE
from skillvoucher.application.people_access import (
    PeopleFilter,
    PersonDetails,
    PersonView,
    find_person,
    import_registry,
    list_people,
    person_details,
)
from skillvoucher.domain.access import Permission as P
from skillvoucher.domain.access import Principal
from skillvoucher.domain.errors import InvalidInput
from skillvoucher.domain.people import CardStatus, TargetGroup
from skillvoucher.domain.row_problems import RowProblem

router = APIRouter(prefix="/api/v1", tags=["people"])

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
_COPY_CHUNK = 1024 * 1024
_SAFE_NAME = re.compile(r"[^0-9A-Za-z._-]+")


class PeoplePage(BaseModel):
    # The application's views, served as they are: pydantic reads stdlib dataclasses.
    items: list[PersonView]
    next_cursor: str | None


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(
        min_length=1, max_length=40, description="An 18-character resident ID number."
    )


class ImportReportOut(BaseModel):
    inserted: int
    updated: int
    unchanged: int
    problems: list[RowProblem] = Field(
        description="One per rejected row: its line in the file, why, and a masked key."
    )


@router.get("/people", response_model=PeoplePage)
def people(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.PERSON_READ)],
    region: Annotated[
        str | None, Query(pattern=r"^\d{6}$", description="People living within this region.")
    ] = None,
    target_group: TargetGroup | None = None,
    card_status: CardStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> PeoplePage:
    """People registered within the caller's region, in a stable order; follow `next_cursor`.

    To find someone by ID number, POST it to `/people/search`: numbers never go in URLs.
    """
    page = list_people(ctx, caller, PeopleFilter(region, target_group, card_status), cursor, limit)
    return PeoplePage(items=page.items, next_cursor=page.next_cursor)


@router.post("/people/search", response_model=PersonDetails)
def search_person(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.PERSON_READ)],
    body: SearchRequest,
) -> PersonDetails:
    """The person with this ID number, with their vouchers. Someone registered outside the
    caller's region answers 404, exactly like someone not registered at all."""
    return find_person(ctx, caller, body.id_number)


@router.get("/people/{person_id:uuid}", response_model=PersonDetails)
def show_person(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.PERSON_READ)],
    person_id: uuid.UUID,
) -> PersonDetails:
    """One person within the caller's region, with the vouchers they hold."""
    return person_details(ctx, caller, person_id)


_TOO_LARGE: dict[int | str, dict[str, Any]] = {
    413: {
        "model": Problem,
        "description": "The file is larger than 20 MB",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
}


@router.post("/people/import", response_model=ImportReportOut, responses=_TOO_LARGE)
def import_people(
    ctx: Context,
    caller: Annotated[Principal, Allowed(P.PERSON_IMPORT)],
    file: Annotated[UploadFile, File(description="A registry file, .csv or .xlsx, ≤ 20 MB.")],
) -> ImportReportOut:
    """Import a registry file: new people are added, changed ones updated, unchanged ones left
    alone (a re-run changes nothing). Rows that are invalid, lie outside the caller's region
    or name a person registered outside it are reported by line and not written.

    Columns: resident_id, name, household_region; optional mobile, card_status,
    employer_credit_code, target_groups (separated by `;`).
    """
    suffix = PurePath(file.filename or "").suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InvalidInput("only .csv and .xlsx files can be imported")
    # The importer reads a path; the upload is copied to a private directory removed afterwards.
    # The file's own name (made safe) is kept, because the audit trail records it.
    stem = _SAFE_NAME.sub("_", PurePath(file.filename or "registry").stem)[:30] or "registry"
    with tempfile.TemporaryDirectory(prefix="skillvoucher-import-") as directory:
        path = Path(directory) / f"{stem}{suffix}"
        _copy_bounded(file, path)
        report = import_registry(ctx, caller, path)
    return _report_out(report)


def _copy_bounded(upload: UploadFile, target: Path) -> None:
    copied = 0
    with target.open("wb") as out:
        while chunk := upload.file.read(_COPY_CHUNK):
            copied += len(chunk)
            if copied > MAX_UPLOAD_BYTES:
                # Transport, not a domain fact: the body is too large to be worth reading.
                raise HTTPException(413, f"the file is larger than {MAX_UPLOAD_BYTES} bytes")
            out.write(chunk)


def _report_out(report: ImportReport) -> ImportReportOut:
    return ImportReportOut(
        inserted=report.inserted,
        updated=report.updated,
        unchanged=report.unchanged,
        problems=report.problems,
    )
