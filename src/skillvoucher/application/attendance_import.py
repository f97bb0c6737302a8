"""Record a file of attendance events (from devices or online platforms), a chunk of rows per
transaction (``attendance_batches``), each row judged as ``record_attendance`` judges one.
Re-running a file is harmless: an event recorded before is ignored and counted as a
duplicate."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from skillvoucher.application.attendance_batches import AttendanceEvent, record_attendance_chunked
from skillvoucher.application.context import AppContext
from skillvoucher.application.imports import ProgressCallback
from skillvoucher.application.tabular import Row, read_rows
from skillvoucher.domain.attendance import MAX_DEVICE_ID_CHARS, AttendanceSource
from skillvoucher.domain.errors import DomainError, InvalidInput
from skillvoucher.domain.row_problems import RowProblem

ATTENDANCE_COLUMNS = ("voucher_id", "source", "minutes", "occurred_at")
"""Required; ``device_id`` is optional."""


@dataclass
class AttendanceFileReport:
    recorded: int = 0
    duplicates: int = 0
    problems: list[RowProblem] = field(default_factory=list)


def record_attendance_file(
    ctx: AppContext, path: Path, progress: ProgressCallback | None = None
) -> AttendanceFileReport:
    report = AttendanceFileReport()
    pending: list[tuple[int, Row, AttendanceEvent]] = []
    done = 0
    for line, row in read_rows(path, ATTENDANCE_COLUMNS):
        try:
            pending.append((line, row, AttendanceEvent(*attendance_event(row))))
        except DomainError as error:
            report.problems.append(RowProblem(line, error.message, row.get("voucher_id")))
            done += 1
        if len(pending) >= ctx.settings.chunk_size:
            done += _record_rows(ctx, pending, report)
            pending = []
            if progress is not None:
                progress(done)
    done += _record_rows(ctx, pending, report)
    if progress is not None:
        progress(done)
    return report


def _record_rows(
    ctx: AppContext, rows: list[tuple[int, Row, AttendanceEvent]], report: AttendanceFileReport
) -> int:
    outcomes = record_attendance_chunked(ctx, [event for _, _, event in rows])
    for (line, row, _event), outcome in zip(rows, outcomes, strict=True):
        if isinstance(outcome, DomainError):
            report.problems.append(RowProblem(line, outcome.message, row.get("voucher_id")))
        elif outcome.recorded:
            report.recorded += 1
        else:
            report.duplicates += 1
    return len(rows)


def attendance_event(row: Row) -> tuple[uuid.UUID, AttendanceSource, datetime, int, str | None]:
    """One row of an attendance file as ``record_attendance``'s arguments after the context
    (voucher id, source, time, minutes, device), or InvalidInput naming the wrong cell."""
    try:
        voucher_id = uuid.UUID(row["voucher_id"])
    except ValueError:
        raise InvalidInput(f"voucher_id {row['voucher_id']!r} is not a voucher id") from None
    try:
        source = AttendanceSource(row["source"])
    except ValueError:
        allowed = ", ".join(AttendanceSource)
        raise InvalidInput(f"source must be one of {allowed}, not {row['source']!r}") from None
    try:
        minutes = int(row["minutes"])
    except ValueError:
        raise InvalidInput(f"minutes must be a whole number, not {row['minutes']!r}") from None
    try:
        occurred_at = datetime.fromisoformat(row["occurred_at"])
    except ValueError:
        raise InvalidInput(
            f"occurred_at {row['occurred_at']!r} is not a time like 2026-12-01T09:00+08:00"
        ) from None
    device_id = row.get("device_id") or None
    # The API bounds it in its request model; a file row must be held to the same width.
    if device_id is not None and len(device_id) > MAX_DEVICE_ID_CHARS:
        raise InvalidInput(f"device_id may have at most {MAX_DEVICE_ID_CHARS} characters")
    return voucher_id, source, occurred_at, minutes, device_id
