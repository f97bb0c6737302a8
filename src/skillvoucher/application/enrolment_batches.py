"""An institution enrols many consenting holders at once (a class list at the start of term):
a transaction per chunk, each enrolment checked and written exactly as ``enrol`` does it, so
the rows, seats and audit events are those of the enrolments made one by one.

Re-running a chunk is harmless (``retries.py``): a voucher enrolled before is refused as
already enrolled, and its consent code, spent then, is not spent again."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment import EnrolmentReceipt, enrol_within
from skillvoucher.application.retries import retry_chunk
from skillvoucher.domain.errors import DomainError


@dataclass(frozen=True)
class EnrolmentRequest:
    voucher_id: uuid.UUID
    course_code: str
    consent_code: str  # the holder's, from their e-SSC app


# A chunk holds its holders' rows and its courses' seat counters locked until it commits, and
# an enrolment at the counter on the same course waits for it: 200 keep that wait short.
ENROLMENTS_PER_TRANSACTION = 200

EnrolmentOutcome = EnrolmentReceipt | DomainError
"""What became of one request: its receipt, or the domain error that refused it."""


def enrol_chunked(
    ctx: AppContext, institution_credit_code: str, requests: Sequence[EnrolmentRequest]
) -> list[EnrolmentOutcome]:
    """Enrol ``requests`` on the institution's courses in chunks (``ENROLMENTS_PER_TRANSACTION``,
    or ``settings.chunk_size`` when smaller), one transaction each; the outcome of every
    request, in order. A refused request leaves the others of its chunk enrolled."""
    size = min(ctx.settings.chunk_size, ENROLMENTS_PER_TRANSACTION)
    outcomes: list[EnrolmentOutcome] = []
    for start in range(0, len(requests), size):
        chunk = requests[start : start + size]
        job = partial(_enrol_chunk, ctx, institution_credit_code, chunk)
        outcomes += retry_chunk(ctx, "enrolment", job)
    return outcomes


def _enrol_chunk(
    ctx: AppContext, institution_credit_code: str, requests: Sequence[EnrolmentRequest]
) -> list[EnrolmentOutcome]:
    outcomes: list[EnrolmentOutcome] = []
    with ctx.unit_of_work() as uow:
        for request in requests:
            try:
                # A savepoint per request: a refused one is undone alone. ``enrol_locked`` may
                # refuse after its conditional UPDATE (a wrong consent code, a full course), but
                # always before its audit event, so nothing of a refused request stays.
                with uow.session.begin_nested():
                    receipt = enrol_within(
                        ctx,
                        uow,
                        request.voucher_id,
                        institution_credit_code,
                        request.course_code,
                        request.consent_code,
                    )
            except DomainError as error:
                outcomes.append(error)
            else:
                outcomes.append(receipt)
        uow.commit()
    return outcomes
