"""An institution enrols many consenting holders at once (a class list at the start of term),
a transaction per chunk, set-wise: the chunk's vouchers, schemes, courses, consent codes and
the holders' live enrolments are read in a few statements, under the holders' row locks (in
primary-key order, the lock ``enrol`` takes for one holder) and the courses' (their seat
counters); each request is then judged in order by the same checks as ``enrol``
(``check_enrollable``, ``enrolment_rules``, the domain's scheme rules), each seeing the
requests accepted before it (a seat taken, a code spent, an occupation used), and the accepted
ones are written together: the vouchers moved, the codes spent, the seats counted, the
enrolments and their audit events. The rows, seats, audit events and notices are those of the
enrolments made one by one, and every refused request gets the error ``enrol`` would raise.

Holders' consents forwarded together by the e-SSC platform are granted the same way
(``grant_consents``), as ``grant_consent`` grants one.

Re-running a chunk is harmless (``retries.py``): a voucher enrolled before is refused as
already enrolled, and its consent code, spent then, is not spent again."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment import ConsentGrant, EnrolmentReceipt, check_enrollable
from skillvoucher.application.enrolment_rules import (
    CONSENT_INVALID,
    ONCE_PER_OCCUPATION,
    consent_digest,
    course_facts,
    course_full,
    course_refusal,
    new_consent_code,
)
from skillvoucher.application.retries import retry_chunk
from skillvoucher.application.scheme_files import rules_of
from skillvoucher.domain.catalogue import CourseApproval
from skillvoucher.domain.errors import (
    ConsentInvalid,
    CourseNotUsable,
    DomainError,
    NotFound,
    VoucherNotUsable,
)
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.schemes import SchemeRules, redeemable_fen
from skillvoucher.domain.vouchers import EnrolmentStatus, VoucherEvent, VoucherStatus, next_status
from skillvoucher.persistence.repositories.training_sets import ChunkRaced, TrainingSets
from skillvoucher.persistence.tables import Course, Institution, Scheme, Voucher
from skillvoucher.persistence.unit_of_work import UnitOfWork


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

ConsentOutcome = ConsentGrant | DomainError


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


@dataclass
class _Chunk:
    """What a chunk's requests are judged against, and what the accepted ones will write."""

    now: datetime
    institution: Institution | None
    vouchers: dict[uuid.UUID, Voucher]
    schemes: dict[uuid.UUID, Scheme]
    courses: dict[str, Course]
    trained: dict[tuple[uuid.UUID, str, str], set[uuid.UUID]]
    codes: dict[uuid.UUID, list[tuple[uuid.UUID, str]]]
    rules: dict[uuid.UUID, SchemeRules] = field(default_factory=dict)
    spent: dict[uuid.UUID, None] = field(default_factory=dict)  # consent codes, in order
    seats: dict[uuid.UUID, int] = field(default_factory=lambda: defaultdict(int))
    enrolments: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)


def _enrol_chunk(
    ctx: AppContext, institution_credit_code: str, requests: Sequence[EnrolmentRequest]
) -> list[EnrolmentOutcome]:
    outcomes: list[EnrolmentOutcome | None] = [None] * len(requests)
    with ctx.unit_of_work() as uow:
        sets = TrainingSets(uow.session)
        chunk = _read(ctx, uow, sets, institution_credit_code, requests, outcomes)
        for index, request in enumerate(requests):
            if outcomes[index] is not None:
                continue
            try:
                outcomes[index] = _judge(ctx, chunk, institution_credit_code, request)
            except DomainError as error:
                outcomes[index] = error
        _write(uow, sets, chunk)
        uow.commit()
    return [o for o in outcomes if o is not None]


def _read(
    ctx: AppContext,
    uow: UnitOfWork,
    sets: TrainingSets,
    institution_credit_code: str,
    requests: Sequence[EnrolmentRequest],
    outcomes: list[EnrolmentOutcome | None],
) -> _Chunk:
    now = ctx.clock()
    holders = sets.holders(r.voucher_id for r in requests)
    for index, request in enumerate(requests):
        if request.voucher_id not in holders:
            outcomes[index] = NotFound(f"voucher {request.voucher_id} is not known")
    # The holders first, then their vouchers read afresh, then the courses: the order in which
    # ``enrol`` takes them for one holder (row lock, conditional UPDATE, seat UPDATE).
    sets.lock_people(holders.values())
    vouchers = sets.vouchers(holders, lock=True)
    for voucher in vouchers.values():
        # Judged in memory from here: an enrolled voucher's status changes in this copy only
        # (the chunk's UPDATEs write it), so a second request for it is refused as enrol would.
        uow.session.expunge(voucher)
    institution = uow.catalogue.institution_by_code(institution_credit_code)
    courses = (
        sets.courses_by_code(institution.id, {r.course_code for r in requests})
        if institution is not None
        else {}
    )
    trained: dict[tuple[uuid.UUID, str, str], set[uuid.UUID]] = defaultdict(set)
    for person, occupation, level, voucher_id in sets.active_trainings(holders.values()):
        trained[(person, occupation, level)].add(voucher_id)
    codes: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = defaultdict(list)
    for code_id, voucher_id, digest in sets.live_consent_codes(vouchers, now):
        codes[voucher_id].append((code_id, digest))
    schemes = sets.schemes(v.scheme_id for v in vouchers.values())
    return _Chunk(now, institution, vouchers, schemes, courses, trained, codes)


def _judge(
    ctx: AppContext, chunk: _Chunk, institution_credit_code: str, request: EnrolmentRequest
) -> EnrolmentReceipt:
    """``enrol_within`` for one request of the chunk, in memory: the same checks in the same
    order; an accepted request is added to what the chunk writes."""
    now = chunk.now
    voucher = chunk.vouchers[request.voucher_id]
    check_enrollable(voucher, now)
    institution = chunk.institution
    if institution is None:
        raise NotFound(f"institution {institution_credit_code} is not known")
    course = chunk.courses.get(request.course_code)
    if course is None:
        raise NotFound(f"course {request.course_code} of {institution_credit_code} is not known")
    scheme = chunk.schemes[voucher.scheme_id]
    rules = chunk.rules.get(scheme.id)
    if rules is None:
        rules = chunk.rules[scheme.id] = rules_of(scheme.rules)
    facts = course_facts(course, institution)
    refusal = course_refusal(rules, facts, course, now)
    if refusal is not None:
        raise refusal
    trained = chunk.trained[(voucher.person_id, course.occupation_code, str(course.skill_level))]
    if rules.eligibility.once_per_occupation_level and trained - {voucher.id}:
        raise CourseNotUsable(ONCE_PER_OCCUPATION)
    target = next_status(voucher.status, VoucherEvent.ENROL)
    paid_by_voucher = redeemable_fen(rules, facts)
    digest = consent_digest(ctx, voucher.id, request.consent_code)
    code_id = next(
        (c for c, d in chunk.codes[voucher.id] if d == digest and c not in chunk.spent), None
    )
    if code_id is None:
        raise ConsentInvalid(CONSENT_INVALID)
    if (
        course.enrolled_count + chunk.seats[course.id] >= course.capacity
        or course.approval_status is not CourseApproval.APPROVED
    ):
        raise course_full(course)
    # Accepted: what enrol_locked writes, kept for the chunk's write.
    voucher.status = target
    trained.add(voucher.id)
    chunk.spent[code_id] = None
    chunk.seats[course.id] += 1
    enrolment_id = new_id()
    chunk.enrolments.append(
        {
            "id": enrolment_id,
            "voucher_id": voucher.id,
            "course_id": course.id,
            "institution_id": institution.id,
            "person_id": voucher.person_id,
            "region_code": voucher.region_code,
            "province_code": voucher.province_code,
            "occupation_code": course.occupation_code,
            "skill_level": course.skill_level,
            "status": EnrolmentStatus.ACTIVE,
            "redeemable_fen": paid_by_voucher,
            "attended_minutes": 0,
            "enrolled_at": now,
            "ended_at": None,
        }
    )
    chunk.audit.append(
        {
            "occurred_at": now,
            "actor": ctx.actor,
            "action": "voucher.enrolled",
            "entity_type": "voucher",
            "entity_id": str(voucher.id),
            "region_code": voucher.region_code,
            "payload": {
                "institution": institution.credit_code,
                "course": course.course_code,
                "voucher_pays_fen": paid_by_voucher,
            },
        }
    )
    return EnrolmentReceipt(
        voucher.id,
        enrolment_id,
        course.course_code,
        paid_by_voucher,
        course.price_fen - paid_by_voucher,
    )


def _write(uow: UnitOfWork, sets: TrainingSets, chunk: _Chunk) -> None:
    if not chunk.enrolments:
        return
    count = len(chunk.enrolments)
    target = next_status(VoucherStatus.ISSUED, VoucherEvent.ENROL)
    # Each conditional as in enrol_locked; under the chunk's locks every one of them holds.
    moved = [e["voucher_id"] for e in chunk.enrolments]
    # The voucher is bound to what its enrolment row names (one UPDATE: the tallies' trigger
    # on vouchers runs once per statement).
    values: dict[str, Any] = {
        name: {e["voucher_id"]: e[name] for e in chunk.enrolments}
        for name in ("course_id", "institution_id", "redeemable_fen")
    }
    values["enrolled_at"] = chunk.now
    if len(sets.move_vouchers(moved, VoucherStatus.ISSUED, target, values)) != count:
        raise ChunkRaced("a voucher of the chunk was no longer issued")
    if sets.spend_consent_codes(list(chunk.spent), chunk.now) != count:
        raise ChunkRaced("a consent code of the chunk was spent meanwhile")
    if sets.take_seats(chunk.seats) != len(chunk.seats):
        raise ChunkRaced("a course of the chunk lost its seats or its approval meanwhile")
    sets.add_enrolments(chunk.enrolments)
    uow.audit.record_many(chunk.audit)


def grant_consents(ctx: AppContext, voucher_ids: Sequence[uuid.UUID]) -> list[ConsentOutcome]:
    """What the e-SSC platform does when it forwards many holders' consents at once: for each
    voucher, a code as ``grant_consent`` makes one (six digits, valid for a few minutes, used
    once, only its keyed digest stored), or why not; a transaction per chunk of
    ``ENROLMENTS_PER_TRANSACTION``. Re-running one grants fresh codes, as a second tap does."""
    size = min(ctx.settings.chunk_size, ENROLMENTS_PER_TRANSACTION)
    outcomes: list[ConsentOutcome] = []
    for start in range(0, len(voucher_ids), size):
        chunk = voucher_ids[start : start + size]
        outcomes += retry_chunk(ctx, "consent", partial(_grant_chunk, ctx, chunk))
    return outcomes


def _grant_chunk(ctx: AppContext, voucher_ids: Sequence[uuid.UUID]) -> list[ConsentOutcome]:
    now = ctx.clock()
    expires_at = now + timedelta(minutes=ctx.settings.consent_code_minutes)
    outcomes: list[ConsentOutcome] = []
    with ctx.unit_of_work() as uow:
        sets = TrainingSets(uow.session)
        vouchers = sets.vouchers(voucher_ids)
        rows: list[dict[str, Any]] = []
        audit: list[dict[str, Any]] = []
        for voucher_id in voucher_ids:
            voucher = vouchers.get(voucher_id)
            if voucher is None:
                outcomes.append(NotFound(f"voucher {voucher_id} is not known"))
                continue
            if voucher.status is not VoucherStatus.ISSUED:
                outcomes.append(VoucherNotUsable(f"voucher {voucher_id} is {voucher.status.value}"))
                continue
            code, row = new_consent_code(ctx, voucher_id, voucher.province_code, now, expires_at)
            rows.append(row)
            audit.append(
                {
                    "occurred_at": now,
                    "actor": ctx.actor,
                    "action": "voucher.consent_granted",
                    "entity_type": "voucher",
                    "entity_id": str(voucher_id),
                    "region_code": voucher.region_code,
                    "payload": {"expires_at": expires_at.isoformat()},
                }
            )
            outcomes.append(ConsentGrant(voucher_id, code, expires_at))
        sets.add_consent_codes(rows)
        uow.audit.record_many(audit)
        uow.commit()
    return outcomes
