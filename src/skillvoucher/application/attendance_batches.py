"""Record many attendance events in one transaction: an institution's day of check-ins from its
devices, or a file of them. Each event is judged and written exactly as ``record_attendance``
does it, so a chunk leaves the rows, the audit events and the refusals that the events recorded
one by one would; only the commits are shared.

Re-running a chunk is harmless (``retries.py``): an event recorded before is a duplicate."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from skillvoucher.application.attendance_refusals import AttendanceRefusal, record_refusal
from skillvoucher.application.context import AppContext
from skillvoucher.application.retries import retry_chunk
from skillvoucher.application.training import (
    AttendanceReceipt,
    check_attendance_shape,
    record_attendance_within,
)
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.errors import DomainError


@dataclass(frozen=True)
class AttendanceEvent:
    voucher_id: uuid.UUID
    source: AttendanceSource
    occurred_at: datetime
    minutes: int
    device_id: str | None = None
    enrolment_id: uuid.UUID | None = None  # only for that enrolment, as in record_attendance


# A chunk holds its devices' and holders' locks until it commits, and live check-ins at the
# same door wait for them: 200 events (a few seconds at most) keep that wait short and already
# share most of what a commit per event cost.
EVENTS_PER_TRANSACTION = 200

AttendanceOutcome = AttendanceReceipt | DomainError
"""What became of one event: its receipt, or the domain error that refused it."""


def record_attendance_chunked(
    ctx: AppContext, events: Sequence[AttendanceEvent]
) -> list[AttendanceOutcome]:
    """Record ``events`` in chunks (``EVENTS_PER_TRANSACTION``, or ``settings.chunk_size`` when
    smaller), one transaction each; the outcome of every event, in order. A refused event
    leaves the others of its chunk recorded."""
    size = min(ctx.settings.chunk_size, EVENTS_PER_TRANSACTION)
    outcomes: list[AttendanceOutcome] = []
    for start in range(0, len(events), size):
        chunk = events[start : start + size]
        outcomes += retry_chunk(ctx, "attendance", partial(_record_chunk, ctx, chunk))
    return outcomes


def _record_chunk(ctx: AppContext, events: Sequence[AttendanceEvent]) -> list[AttendanceOutcome]:
    outcomes: list[AttendanceOutcome] = []
    refusals: list[AttendanceRefusal] = []
    with ctx.unit_of_work() as uow:
        for event in events:
            try:
                check_attendance_shape(ctx, event.occurred_at, event.minutes, event.device_id)
                # A savepoint per event: a refused one is undone alone. Every refusal is raised
                # before the event writes anything (its audit event included), so nothing of
                # it stays in the unit of work either.
                with uow.session.begin_nested():
                    receipt = record_attendance_within(
                        ctx,
                        uow,
                        event.voucher_id,
                        event.source,
                        event.occurred_at,
                        event.minutes,
                        event.device_id,
                        event.enrolment_id,
                        refusals,
                    )
            except DomainError as error:
                outcomes.append(error)
            else:
                outcomes.append(receipt)
        uow.commit()
    # As for a single event: the refusals are audited once the chunk's transaction has ended.
    for refusal in refusals:
        record_refusal(ctx, refusal)
    return outcomes
