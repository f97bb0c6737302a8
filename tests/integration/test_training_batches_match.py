"""The chunked training paths leave exactly what the single-item paths leave.

The same consents, enrolments, check-ins and completions (accepted ones and every kind of
refusal, chunk boundaries falling between related items) are run one by one through
``grant_consent``, ``enrol``, ``record_attendance`` and ``record_completion`` in one database,
and through ``grant_consents``, ``enrol_chunked``, ``record_attendance_chunked`` and
``record_completions_chunked`` in another; each item's outcome and the resulting vouchers,
consent codes, enrolments, seats, attendance, ledger, audit events and holder notices must be
the same (ids, which are random, replaced by what they name)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

from builders import (
    Clock,
    credit_code,
    deposit,
    import_course,
    import_institution,
    import_people,
    issue,
    make_context,
    make_scheme,
    person,
)
from skillvoucher.application import enrolment, training
from skillvoucher.application.attendance_batches import AttendanceEvent, record_attendance_chunked
from skillvoucher.application.completion_batches import (
    CompletionRequest,
    record_completions_chunked,
)
from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment import ConsentGrant
from skillvoucher.application.enrolment_batches import (
    EnrolmentRequest,
    enrol_chunked,
    grant_consents,
)
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.domain.attendance import (
    AttendanceDeviceBurst,
    AttendanceInTwoPlaces,
    AttendanceSource,
    OnlineMinutesExceedTime,
)
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.errors import (
    AlreadyEnrolled,
    ConsentInvalid,
    CourseNotUsable,
    DomainError,
    IllegalTransition,
    InvalidInput,
    NotFound,
)
from skillvoucher.domain.notices import NoticeKind
from skillvoucher.persistence.tables import Base

FACE, CARD, ONLINE = AttendanceSource.FACE, AttendanceSource.CARD, AttendanceSource.ONLINE
UNKNOWN = uuid.UUID("00000000-0000-7000-8000-000000000001")
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PEOPLE = [person(name=f"学员{i}") for i in range(9)]
SCHOOL, OTHER_SCHOOL, NO_SCHOOL = credit_code(), credit_code(), credit_code()

# Compared as left by either path: everything but row ids, hashes and secrets.
TABLES = {
    "vouchers": {"id", "key_id", "credential"},
    "consent_codes": {"id", "code_digest"},
    "enrolments": {"id"},
    "attendance_events": {"id"},
    "courses": {"content_digest"},  # keyed by the run's own key
    "ledger_entries": {"id", "journal_id"},
    "audit_events": {"id", "seq", "prev_hash", "hash"},
    "holder_notices": {"id"},
}


@dataclass
class Run:
    """One database's run: the items' outcomes and the tables they left."""

    outcomes: dict[str, list[object]]
    tables: dict[str, list[str]]


def world(ctx: AppContext) -> dict[str, uuid.UUID]:
    """Two schools (the second for a holder in two places), a roomy course, a two-seat one and
    one elsewhere; nine holders with a voucher each, two of them with a second voucher of a
    scheme that allows it. Vouchers by label: v0..v8, w0, w1."""
    import_people(ctx, PEOPLE)
    import_institution(ctx, code=SCHOOL)
    import_institution(ctx, code=OTHER_SCHOOL, name="太原市另一家培训学校")
    import_course(ctx, SCHOOL, course_code="C1", hours=80)
    import_course(ctx, SCHOOL, course_code="C2", capacity=2, name="育婴员(五级)二班")
    import_course(
        ctx, OTHER_SCHOOL, course_code="E1", name="营销员(五级)", occupation_code="4-01-02-01"
    )
    deposit(ctx)
    first = make_scheme(ctx)
    second = make_scheme(
        ctx, code="TY-2026-B", name="太原市第二期培训券", eligibility={"one_active_voucher": False}
    )
    vouchers = {f"v{i}": issue(ctx, first.code, p).voucher_id for i, p in enumerate(PEOPLE)}
    vouchers["w0"] = issue(ctx, second.code, PEOPLE[0]).voucher_id
    vouchers["w1"] = issue(ctx, second.code, PEOPLE[1]).voucher_id
    return vouchers


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def enrolments(
    v: dict[str, uuid.UUID], codes: dict[str, str]
) -> list[tuple[str, EnrolmentRequest]]:
    """(institution, request): every refusal enrol knows, among accepted ones, in chunks of 3."""
    return [
        (SCHOOL, EnrolmentRequest(v["v0"], "C1", codes["v0"])),
        (SCHOOL, EnrolmentRequest(v["w0"], "C1", codes["w0"])),  # same holder, occupation, level
        (SCHOOL, EnrolmentRequest(v["v1"], "C1", wrong(codes["v1"]))),
        (SCHOOL, EnrolmentRequest(v["v1"], "C1", codes["v1"])),
        (SCHOOL, EnrolmentRequest(UNKNOWN, "C1", "123456")),
        (SCHOOL, EnrolmentRequest(v["v2"], "C2", codes["v2"])),
        (SCHOOL, EnrolmentRequest(v["v3"], "C2", codes["v3"])),
        (SCHOOL, EnrolmentRequest(v["v4"], "C2", codes["v4"])),  # the course is full
        (SCHOOL, EnrolmentRequest(v["v4"], "C9", codes["v4"])),  # no such course
        (SCHOOL, EnrolmentRequest(v["v5"], "C1", codes["v5"])),
        (SCHOOL, EnrolmentRequest(v["v5"], "C1", codes["v5"])),  # sent twice
        (SCHOOL, EnrolmentRequest(v["v6"], "C1", codes["v6"])),
        (SCHOOL, EnrolmentRequest(v["v7"], "C1", codes["v7"])),
        (SCHOOL, EnrolmentRequest(v["v8"], "C1", codes["v8"])),
        (OTHER_SCHOOL, EnrolmentRequest(v["w1"], "E1", codes["w1"])),
        (NO_SCHOOL, EnrolmentRequest(v["v4"], "C1", codes["v4"])),  # no such school
    ]


def check_ins(v: dict[str, uuid.UUID], now: datetime) -> list[AttendanceEvent]:
    """Accepted, re-sent and refused events of every kind, in chunks of 3."""
    day = START.replace(hour=1) + timedelta(days=1)
    crowd = day + timedelta(days=3)
    online_end = day + timedelta(days=4, hours=4)
    return [
        # Three full days for v0: the first starts its attendance, the third reaches the
        # scheme's minimum (two notices from one chunk).
        AttendanceEvent(v["v0"], FACE, day, 1440, "door-1"),
        AttendanceEvent(v["v0"], FACE, day + timedelta(days=1), 1440, "door-1"),
        AttendanceEvent(v["v0"], CARD, day + timedelta(days=2), 1440, "door-1"),
        AttendanceEvent(v["v0"], FACE, day, 1440, "door-1"),  # re-sent
        # Six holders through door-1 within ten seconds: the sixth is a crowd.
        *(
            AttendanceEvent(v[label], FACE, crowd + timedelta(seconds=2 * i), 60, "door-1")
            for i, label in enumerate(("v1", "v2", "v3", "v5", "v6", "v7"))
        ),
        # v1's holder at the other school at the same moment: in two places.
        AttendanceEvent(v["w1"], FACE, crowd + timedelta(seconds=1), 60, "gate"),
        # Online spans of v8: the second overlaps the first and adds up to more than the clock.
        AttendanceEvent(v["v8"], ONLINE, online_end, 120),
        AttendanceEvent(v["v8"], ONLINE, online_end + timedelta(hours=1), 120),
        AttendanceEvent(v["v8"], ONLINE, online_end + timedelta(hours=3), 60),
        AttendanceEvent(UNKNOWN, FACE, day, 60, "door-1"),
        AttendanceEvent(v["v4"], FACE, day, 60, "door-1"),  # issued, not enrolled
        AttendanceEvent(v["v6"], FACE, day, 0, "door-1"),  # no minutes
        AttendanceEvent(v["v6"], FACE, now + timedelta(hours=1), 60, "door-1"),  # future
        AttendanceEvent(v["v6"], FACE, START - timedelta(days=1), 60, "door-1"),  # too early
        AttendanceEvent(v["v6"], FACE, day, 60, "door-1", enrolment_id=UNKNOWN),
        AttendanceEvent(v["v2"], CARD, day + timedelta(days=5), 90, "door-2"),
    ]


def completions(v: dict[str, uuid.UUID], school: uuid.UUID) -> list[CompletionRequest]:
    five = SkillLevel("5")
    return [
        CompletionRequest(v["v0"]),
        CompletionRequest(v["v0"], "CERT-0001", five),  # certified later, in the same chunk
        CompletionRequest(v["v0"], "CERT-0002", five),  # already completed and certified
        CompletionRequest(v["v1"], " CERT-0011 ", five),
        CompletionRequest(v["v4"]),  # not in training
        CompletionRequest(UNKNOWN),
        CompletionRequest(v["v3"], "AB", five),  # too short a number
        CompletionRequest(v["v3"], "CERT-0031", None),  # a number without its level
        CompletionRequest(v["v5"], institution_id=school),  # at SCHOOL, not OTHER_SCHOOL
        CompletionRequest(v["v6"]),
        CompletionRequest(v["v6"]),  # twice
    ]


def attempt(call: Callable[[], object]) -> object:
    try:
        return call()
    except DomainError as error:
        return error


def one_by_one(ctx: AppContext, clock: Clock) -> dict[str, list[object]]:
    v = world(ctx)
    grants = [
        attempt(partial(enrolment.grant_consent, ctx, voucher))
        for voucher in [*v.values(), UNKNOWN]
    ]
    codes = {
        label: g.code for label, g in zip(v, grants, strict=False) if isinstance(g, ConsentGrant)
    }
    enrolled = [
        attempt(partial(enrolment.enrol, ctx, r.voucher_id, school, r.course_code, r.consent_code))
        for school, r in enrolments(v, codes)
    ]
    clock.advance(timedelta(days=10))
    attended = [
        attempt(
            partial(
                training.record_attendance,
                ctx,
                e.voucher_id,
                e.source,
                e.occurred_at,
                e.minutes,
                e.device_id,
                e.enrolment_id,
            )
        )
        for e in check_ins(v, clock.now)
    ]
    clock.advance(timedelta(days=1))
    other = other_school_id(ctx)
    completed = [
        attempt(
            partial(
                training.record_completion,
                ctx,
                r.voucher_id,
                r.certificate_no,
                r.certificate_level,
                r.institution_id,
            )
        )
        for r in completions(v, other)
    ]
    return {
        "consents": grants,
        "enrolments": enrolled,
        "attendance": attended,
        "completions": completed,
    }


def in_chunks(ctx: AppContext, clock: Clock, size: int) -> dict[str, list[object]]:
    v = world(ctx)
    ctx.settings = ctx.settings.model_copy(update={"chunk_size": size})
    grants: list[object] = list(grant_consents(ctx, [*v.values(), UNKNOWN]))
    codes = {
        label: g.code for label, g in zip(v, grants, strict=False) if isinstance(g, ConsentGrant)
    }
    enrolled: list[object] = []
    requests = enrolments(v, codes)
    # Each school's consecutive requests as one class list, in the order given.
    start = 0
    while start < len(requests):
        school = requests[start][0]
        end = start
        while end < len(requests) and requests[end][0] == school:
            end += 1
        enrolled += enrol_chunked(ctx, school, [r for _, r in requests[start:end]])
        start = end
    clock.advance(timedelta(days=10))
    attended: list[object] = list(record_attendance_chunked(ctx, check_ins(v, clock.now)))
    clock.advance(timedelta(days=1))
    completed: list[object] = list(
        record_completions_chunked(ctx, completions(v, other_school_id(ctx)))
    )
    return {
        "consents": grants,
        "enrolments": enrolled,
        "attendance": attended,
        "completions": completed,
    }


def other_school_id(ctx: AppContext) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        ids = uow.catalogue.institution_ids_by_code([OTHER_SCHOOL])
    return ids[OTHER_SCHOOL]


def run(
    url: str, directory: Path, path: Callable[[AppContext, Clock], dict[str, list[object]]]
) -> Run:
    clock = Clock(START)
    ctx = make_context(url, directory, clock)
    try:
        outcomes = path(ctx, clock)
        assert ledger_problems(ctx) == []
        labels = _labels(ctx)
        described = {k: [_describe(o, labels) for o in found] for k, found in outcomes.items()}
        return Run(described, _tables(ctx, labels))
    finally:
        ctx.close()


_FILE_NUMBER = re.compile(r"-\d+\.csv$")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _labels(ctx: AppContext) -> dict[str, str]:
    """What each id names, the same in either database."""
    with ctx.unit_of_work() as uow:
        s = uow.session
        t = Base.metadata.tables
        people = {str(i): n for i, n in s.execute(sa.select(t["people"].c.id, t["people"].c.name))}
        schemes = {
            str(i): c for i, c in s.execute(sa.select(t["schemes"].c.id, t["schemes"].c.code))
        }
        labels = {**people, **schemes}
        schools = sa.select(t["institutions"].c.id, t["institutions"].c.credit_code)
        labels.update({str(i): c for i, c in s.execute(schools)})
        courses = sa.select(t["courses"].c.id, t["courses"].c.course_code)
        labels.update({str(i): f"course {c}" for i, c in s.execute(courses)})
        vouchers = sa.select(
            t["vouchers"].c.id, t["vouchers"].c.person_id, t["vouchers"].c.scheme_id
        )
        for voucher, holder, scheme in s.execute(vouchers):
            labels[str(voucher)] = f"voucher of {people[str(holder)]} in {schemes[str(scheme)]}"
        rows = sa.select(
            t["enrolments"].c.id, t["enrolments"].c.voucher_id, t["enrolments"].c.status
        )
        for enrolment_id, voucher, status in s.execute(rows):
            labels[str(enrolment_id)] = f"enrolment ({status}) of {labels[str(voucher)]}"
    labels[str(UNKNOWN)] = "unknown"
    return labels


def _named(value: object, labels: dict[str, str]) -> object:
    if isinstance(value, uuid.UUID):
        return labels.get(str(value), "some id")
    if isinstance(value, str):
        value = _FILE_NUMBER.sub(".csv", value)  # the builders number their files
        return _UUID.sub(lambda m: labels.get(m.group(0), "some id"), value)
    if isinstance(value, dict):
        return {k: _named(x, labels) for k, x in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_named(x, labels) for x in value]
    return value


def _describe(outcome: object, labels: dict[str, str]) -> object:
    if isinstance(outcome, DomainError):
        return (type(outcome).__name__, _named(outcome.message, labels))
    if isinstance(outcome, enrolment.ConsentGrant):
        return ("granted", labels[str(outcome.voucher_id)], outcome.expires_at)
    if isinstance(outcome, enrolment.EnrolmentReceipt):
        return ("enrolled", outcome.course_code, outcome.voucher_pays_fen, outcome.holder_pays_fen)
    return outcome  # attendance receipts (plain values) and statuses


def _tables(ctx: AppContext, labels: dict[str, str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    with ctx.unit_of_work() as uow:
        for name, left_out in TABLES.items():
            table = Base.metadata.tables[name]
            columns = [c for c in table.c if c.name not in left_out]
            rows = uow.session.execute(sa.select(*columns)).all()
            found[name] = sorted(
                repr({c.name: _named(value, labels) for c, value in zip(columns, row, strict=True)})
                for row in rows
            )
    return found


@pytest.mark.parametrize("size", [3, 50], ids=["chunks-of-3", "one-chunk"])
def test_chunks_leave_what_one_by_one_leaves(
    database_url: str, fresh_database: Callable[[], str], tmp_path: Path, size: int
) -> None:
    """Chunks of 3 put related items in different chunks (each judged against the last one's
    committed rows); one chunk puts them all together (each judged against the chunk's own
    accepted items: the crowd, the re-sent event, the overlapping spans, the second request)."""
    single = run(database_url, tmp_path, one_by_one)
    chunked = run(fresh_database(), tmp_path, partial(in_chunks, size=size))

    # The scenario exercises what it claims to (on the single path, the reference).
    def kinds(step: str) -> set[str]:
        return {o[0] if isinstance(o, tuple) else type(o).__name__ for o in single.outcomes[step]}

    refused = (ConsentInvalid, NotFound, CourseNotUsable, AlreadyEnrolled)
    assert {k.__name__ for k in refused} | {"enrolled", "granted"} <= kinds("enrolments") | kinds(
        "consents"
    )
    implausible = (AttendanceDeviceBurst, AttendanceInTwoPlaces, OnlineMinutesExceedTime)
    assert {k.__name__ for k in (*implausible, InvalidInput, IllegalTransition, NotFound)} <= kinds(
        "attendance"
    )
    assert {"IllegalTransition", "NotFound", "InvalidInput", "VoucherStatus"} <= kinds(
        "completions"
    )
    notices = " ".join(single.tables["holder_notices"])
    for kind in (
        NoticeKind.ATTENDANCE_STARTED,
        NoticeKind.ATTENDANCE_REACHED,
        NoticeKind.CERTIFIED,
    ):
        assert f"'{kind.value}'" in notices, kind

    assert chunked.outcomes == single.outcomes
    for name in TABLES:
        assert chunked.tables[name] == single.tables[name], name
