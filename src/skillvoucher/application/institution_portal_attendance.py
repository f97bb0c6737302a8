"""An attendance file uploaded by an institution's staff: each row checked as the command-line
import checks it (``attendance_import``), then recorded through the institution's scope, so a
row naming another institution's voucher is refused like an unknown one."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from skillvoucher.application.attendance_import import ATTENDANCE_COLUMNS, attendance_event
from skillvoucher.application.context import AppContext
from skillvoucher.application.tabular import read_rows
from skillvoucher.application.training_access import (
    MAX_EVENTS_PER_BATCH,
    AttendanceEntry,
    record_attendance_batch,
)
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.errors import DomainError, InvalidInput


@dataclass(frozen=True)
class UploadedRow:
    line: int
    voucher_id: str
    accepted: bool
    code: str | None = None  # why it was refused: a domain error's code
    detail: str | None = None  # and its English detail


@dataclass(frozen=True)
class AttendanceUpload:
    recorded: int
    duplicates: int
    rows: list[UploadedRow]

    @property
    def refused(self) -> int:
        return sum(1 for row in self.rows if not row.accepted)


def record_attendance_upload(ctx: AppContext, principal: Principal, path: Path) -> AttendanceUpload:
    """Record the file's rows for the principal's enrolments; a report line per row. Raises
    InvalidInput for a file that cannot be read, lacks a column, or holds too many rows."""
    principal.require(Permission.ATTENDANCE_RECORD)
    parsed: list[tuple[int, str, AttendanceEntry | DomainError]] = []
    for line, row in read_rows(path, ATTENDANCE_COLUMNS):
        if len(parsed) >= MAX_EVENTS_PER_BATCH:
            raise InvalidInput(f"upload at most {MAX_EVENTS_PER_BATCH} rows at once")
        try:
            voucher_id, source, occurred_at, minutes, device_id = attendance_event(row)
        except DomainError as error:
            parsed.append((line, row.get("voucher_id", ""), error))
            continue
        if occurred_at.tzinfo is None:
            parsed.append((line, row["voucher_id"], InvalidInput("the time needs its offset")))
            continue
        entry = AttendanceEntry(source, occurred_at, minutes, None, voucher_id, device_id)
        parsed.append((line, row["voucher_id"], entry))
    entries = [item for _, _, item in parsed if isinstance(item, AttendanceEntry)]
    problems: dict[int, tuple[str, str]] = {}
    recorded = duplicates = 0
    if entries:
        report = record_attendance_batch(ctx, principal, entries)
        recorded, duplicates = report.recorded, report.duplicates
        problems = {p.index: (p.code, p.detail) for p in report.problems}
    rows: list[UploadedRow] = []
    index = 0
    for line, voucher_text, item in parsed:
        if isinstance(item, DomainError):
            rows.append(UploadedRow(line, voucher_text, False, item.code, item.message))
            continue
        refused = problems.get(index)
        index += 1
        if refused is None:
            rows.append(UploadedRow(line, voucher_text, True))
        else:
            rows.append(UploadedRow(line, voucher_text, False, *refused))
    return AttendanceUpload(recorded, duplicates, rows)
