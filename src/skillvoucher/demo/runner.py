"""`skillvoucher demo`: a pilot modelled on Shanxi, run through the real use cases.

A demo clock starts on 2 March and moves through the training year: schemes launch, vouchers
are pushed, claimed and requested by enterprises; holders enrol, attend and certify;
institutions are settled, put on public notice and paid; unused vouchers expire. Everything
goes through the same application functions as the CLI, so the demo is also an end-to-end
check of them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any, Protocol

from skillvoucher.application import (
    catalogue_import,
    enrolment,
    enrolment_batches,
    funds,
    issuance,
    ledger_checks,
    lifecycle,
    schemes,
    settlement,
    settlement_batches,
    training,
)
from skillvoucher.application.attendance_batches import AttendanceEvent, record_attendance_chunked
from skillvoucher.application.completion_batches import (
    CompletionRequest,
    record_completions_chunked,
)
from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment_batches import EnrolmentRequest
from skillvoucher.application.regions_import import load_builtin_regions
from skillvoucher.application.scheme_files import parse_scheme_document
from skillvoucher.demo.files import write_catalogue
from skillvoucher.demo.registry import RegistryPlan, load_registry
from skillvoucher.demo.scales import Scale
from skillvoucher.demo.schemes import first_come_and_enterprise_schemes, target_group_scheme
from skillvoucher.demo.statistics_keeper import statistics_kept
from skillvoucher.demo.synthetic import SyntheticPerson, generate_credit_code
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.errors import CourseNotUsable, DomainError, QuotaExhausted
from skillvoucher.domain.occupations import builtin_occupations
from skillvoucher.domain.regions import RegionLevel, builtin_regions
from skillvoucher.domain.settlement import BatchStatus, notice_until
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence import migrate
from skillvoucher.persistence.repositories.training_sets import TrainingSets

Advance = Callable[[int], None]

# Holders whose check-ins the demo sends one by one, as a device does live; the rest are batched.
_LIVE_CHECK_INS = 100
# Holders enrolled one by one at the institution's counter; the rest are enrolled by class.
_LIVE_ENROLMENTS = 100
# Consents forwarded, or completions reported, together (a progress step each).
_PER_BATCH = 1000
# Completions an institution reports together, one by one for the first holders (as a counter).
_LIVE_COMPLETIONS = 100
# Claims (and enterprise requests) in flight at once on PostgreSQL: while one waits for the
# database, another runs its Python, so both cores work.
_REQUESTS_AT_ONCE = 4


class Reporter(Protocol):
    def stage(self, description: str, total: int | None) -> Advance: ...


@dataclass
class DemoOutcome:
    counts: dict[str, int] = field(default_factory=dict)
    payment_file: Path | None = None
    ledger_problems: list[str] = field(default_factory=list)


class DemoClock:
    """The demo's 'now': starts on 2 March of the demo year and only moves forward."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def move_to(self, moment: datetime) -> None:
        self.now = max(self.now, moment)


def _cst(year: int, month: int, day: int, hour: int = 9) -> datetime:
    return datetime(year, month, day, hour - 8, tzinfo=UTC)


def run_demo(ctx: AppContext, scale: Scale, reporter: Reporter, seed: int = 2026) -> DemoOutcome:
    migrate.upgrade(ctx.engine)
    with statistics_kept(ctx.engine):
        return _run_demo(ctx, scale, reporter, seed)


def _run_demo(ctx: AppContext, scale: Scale, reporter: Reporter, seed: int) -> DemoOutcome:
    year = 2026
    clock = DemoClock(_cst(year, 3, 2))
    ctx.clock = clock
    ctx.actor = "demo"
    rng = Random(seed)
    outcome = DemoOutcome()
    folder = ctx.settings.data_dir / "demo"
    folder.mkdir(parents=True, exist_ok=True)

    load_builtin_regions(ctx)
    cities = [
        (r.code, r.name)
        for r in builtin_regions()
        if r.level is RegionLevel.CITY and r.code.startswith("14")
    ]
    occupations = builtin_occupations()

    advance = reporter.stage("Writing the catalogue", 3)
    write_catalogue(
        rng,
        folder / "institutions.csv",
        folder / "courses.csv",
        cities,
        scale.institutions_per_city,
        occupations,
        year,
    )
    employers = [
        generate_credit_code(rng, code, "enterprise")
        for code, _ in cities
        for _ in range(scale.enterprises // len(cities) + 1)
    ]
    registry = RegistryPlan(
        count=scale.people,
        cities=[c for c, _ in cities],
        employers=employers,
        today=date(year, 3, 1),
        seed=rng.randrange(2**32),
        claimants=scale.graduate_claimants,
        roster=scale.enterprise_roster,
    )
    advance(3)

    advance = reporter.stage("Importing the catalogue, storing the registry", scale.people)
    catalogue_import.import_institutions(ctx, folder / "institutions.csv")
    catalogue_import.import_courses(ctx, folder / "courses.csv")
    # Streamed to the file and the table: the pilot's millions are never all in memory.
    applicants = load_registry(ctx, registry, folder / "people.csv", progress=advance)

    fund_note = f"{year} 年职业技能提升专账拨付"
    docs = first_come_and_enterprise_schemes(scale, year)
    for region, budget in _budgets(docs).items():
        funds.deposit(ctx, region, budget + budget // 10, fund_note)
    for doc in docs:
        schemes.create_scheme(ctx, parse_scheme_document(doc))
    graduate, enterprise = (d["code"] for d in docs)
    outcome.counts.update(_claims(ctx, reporter, rng, applicants.graduates, graduate, scale))
    outcome.counts.update(_enterprise_requests(ctx, applicants.employees, enterprise, scale))

    # The province's push scheme brings the year's total to the scale's figure.
    issued = sum(schemes.get_scheme(ctx, code).issued_count for code in (graduate, enterprise))
    target = target_group_scheme(year, scale.total_vouchers - issued)
    funds.deposit(ctx, target["region"], target["budget_fen"], fund_note)
    schemes.create_scheme(ctx, parse_scheme_document(target))
    total = min(issuance.eligible_count(ctx, target["code"]), target["quota"])
    advance = reporter.stage("Pushing target-group vouchers", total)
    issuance.push_issue(ctx, target["code"], progress=lambda done, _total: advance(done))
    _fresh_statistics(ctx)

    clock.move_to(_cst(year, 3, 20))
    enrolled = _enrol_some(ctx, reporter, rng, scale)
    outcome.counts["enrolled"] = len(enrolled)
    _attend(ctx, reporter, rng, clock, enrolled, scale, year)

    clock.move_to(_cst(year, 6, 20))
    outcome.counts.update(_complete(ctx, reporter, rng, enrolled))

    clock.move_to(_cst(year, 7, 3))
    outcome.payment_file = _settle_and_pay(
        ctx, reporter, clock, date(year, 3, 1), date(year, 6, 30), folder / "payments-h1.csv"
    )
    clock.move_to(_cst(year, 9, 15))
    advance = reporter.stage("Expiring unused vouchers", None)
    _fresh_statistics(ctx)
    outcome.counts["expired"] = lifecycle.expire_vouchers(ctx, progress=advance)
    clock.move_to(_cst(year, 10, 8))
    _settle_and_pay(
        ctx, reporter, clock, date(year, 7, 1), date(year, 9, 30), folder / "payments-q3.csv"
    )
    outcome.ledger_problems = ledger_checks.ledger_problems(ctx)
    return outcome


def _fresh_statistics(ctx: AppContext) -> None:
    """Give the planner fresh statistics of the tables the bulk steps have just filled.

    Autovacuum would, in its own time (it is off on this machine's test server). Without them,
    at a two-hundredth of the pilot, the year-end expiry took 3.3 s instead of 1.4 s: the
    statistics tallies' trigger on its UPDATE ran 2.0 s a chunk of 5,000 instead of 0.2 s."""
    with ctx.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


def _budgets(docs: list[dict[str, Any]]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for doc in docs:
        totals[doc["region"]] += doc["budget_fen"]
    return totals


def _claims(
    ctx: AppContext,
    reporter: Reporter,
    rng: Random,
    claimants: list[SyntheticPerson],
    scheme_code: str,
    scale: Scale,
) -> dict[str, int]:
    """Graduates in Taiyuan rush for a first-come quota, several at a time as at the real door
    (on PostgreSQL); the late ones are told it is gone."""
    rng.shuffle(claimants)
    advance = reporter.stage("First-come claims for graduates", len(claimants))

    def claim(person: SyntheticPerson) -> str:
        try:
            issuance.issue_to_person(ctx, scheme_code, person.resident_id)
            return "claims_won"
        except QuotaExhausted:
            return "claims_quota_exhausted"
        except DomainError:
            return "claims_refused"

    counts = dict.fromkeys(("claims_won", "claims_quota_exhausted", "claims_refused"), 0)
    with ThreadPoolExecutor(_at_once(ctx)) as pool:
        for n, outcome in enumerate(pool.map(claim, claimants), start=1):
            counts[outcome] += 1
            advance(n)
    return counts


def _enterprise_requests(
    ctx: AppContext, rosters: dict[str, list[SyntheticPerson]], scheme_code: str, scale: Scale
) -> dict[str, int]:
    """The largest enterprises each request vouchers for a roster of their employees, several
    enterprises at a time (on PostgreSQL)."""
    requesting = sorted(rosters, key=lambda e: (-len(rosters[e]), e))

    def request(employer: str) -> list[issuance.RosterOutcome]:
        roster = [(i + 2, p.resident_id) for i, p in enumerate(rosters[employer])]
        return issuance.issue_for_enterprise(ctx, scheme_code, employer, roster)

    issued = refused = 0
    with ThreadPoolExecutor(_at_once(ctx)) as pool:
        for outcomes in pool.map(request, requesting[: scale.requesting_enterprises]):
            issued += sum(o.voucher_id is not None for o in outcomes)
            refused += sum(o.voucher_id is None for o in outcomes)
    return {"enterprise_issued": issued, "enterprise_refused": refused}


def _at_once(ctx: AppContext) -> int:
    """Requests the demo sends at the same time: SQLite takes one writer at a time."""
    return _REQUESTS_AT_ONCE if ctx.engine.dialect.name == "postgresql" else 1


@dataclass(frozen=True)
class _Seat:
    institution: str
    course: str
    level: SkillLevel
    hours: int


def _seats(ctx: AppContext) -> dict[str, list[_Seat]]:
    """Usable courses by city, to pick one near the holder."""
    with ctx.unit_of_work() as uow:
        codes = {i.id: i.credit_code for i in uow.catalogue.institutions()}
        by_city: dict[str, list[_Seat]] = defaultdict(list)
        for course in uow.catalogue.usable_courses("140000", limit=1_000_000):
            by_city[course.region_code].append(
                _Seat(
                    codes[course.institution_id],
                    course.course_code,
                    course.skill_level,
                    course.hours,
                )
            )
    return by_city


def _enrol_some(
    ctx: AppContext, reporter: Reporter, rng: Random, scale: Scale
) -> list[tuple[uuid.UUID, _Seat]]:
    """Holders consent in their e-SSC app; institutions then enrol their classes, a batch each
    (``enrolment_batches``), except the first holders, who consent and are enrolled one by one
    as at a counter (the others' consents reach the platform in batches). A holder whose
    course turns out unusable (full, wrong for the scheme) is offered another, up to four
    times."""
    with ctx.unit_of_work() as uow:
        issued = uow.vouchers.holders_by_status(VoucherStatus.ISSUED, limit=10**8)
    chosen = rng.sample(issued, round(len(issued) * scale.use_rate))
    seats = _seats(ctx)
    everywhere = [s for city in seats.values() for s in city]
    advance = reporter.stage("Holders consent", len(chosen))
    enrolled = []
    for n, (voucher_id, _scheme, city) in enumerate(chosen[:_LIVE_ENROLMENTS], start=1):
        consent = enrolment.grant_consent(ctx, voucher_id)
        for _attempt in range(4):
            seat = rng.choice(seats.get(city) or everywhere)
            try:
                enrolment.enrol(ctx, voucher_id, seat.institution, seat.course, consent.code)
            except CourseNotUsable:
                continue
            enrolled.append((voucher_id, seat))
            break
        advance(n)
    waiting: list[tuple[uuid.UUID, str, str]] = []  # voucher, city, consent code
    later = chosen[_LIVE_ENROLMENTS:]
    # The others' consents reach the platform in batches, as the e-SSC app forwards them.
    for start in range(0, len(later), _PER_BATCH):
        batch = later[start : start + _PER_BATCH]
        grants = enrolment_batches.grant_consents(ctx, [v for v, _, _ in batch])
        for (voucher_id, _scheme, city), grant in zip(batch, grants, strict=True):
            if isinstance(grant, DomainError):
                raise grant
            waiting.append((voucher_id, city, grant.code))
        advance(_LIVE_ENROLMENTS + start + len(batch))
    advance = reporter.stage("Institutions enrol their classes", len(waiting))
    placed = 0
    for _attempt in range(4):
        classes: dict[str, list[tuple[uuid.UUID, str, str, _Seat]]] = defaultdict(list)
        for voucher_id, city, code in waiting:
            seat = rng.choice(seats.get(city) or everywhere)
            classes[seat.institution].append((voucher_id, city, code, seat))
        waiting = []
        for institution in sorted(classes):
            members = classes[institution]
            requests = [EnrolmentRequest(v, seat.course, code) for v, _, code, seat in members]
            outcomes = enrolment_batches.enrol_chunked(ctx, institution, requests)
            for (voucher_id, city, code, seat), outcome in zip(members, outcomes, strict=True):
                if isinstance(outcome, CourseNotUsable):
                    waiting.append((voucher_id, city, code))
                elif isinstance(outcome, DomainError):
                    raise outcome
                else:
                    enrolled.append((voucher_id, seat))
                    placed += 1
            advance(placed)
    return enrolled


def _attend(
    ctx: AppContext,
    reporter: Reporter,
    rng: Random,
    clock: DemoClock,
    enrolled: list[tuple[uuid.UUID, _Seat]],
    scale: Scale,
    year: int,
) -> None:
    """Real-name check-ins spread over April to June; most holders attend enough, some do not.

    Plausible ones: each institution's door lets its trainees in one by one, 20 seconds apart,
    and a holder with several vouchers attends each course on a different weekday. Each
    institution sends its term's check-ins as a batch (``attendance_batches``, a transaction per
    chunk, as its devices' uploads and attendance files are recorded); the first holders'
    check-ins go one by one through ``record_attendance``, as a device sends them live."""
    advance = reporter.stage("Attendance (face, card, QR, online)", len(enrolled))
    clock.move_to(_cst(year, 6, 16))
    sources = (AttendanceSource.FACE, AttendanceSource.CARD, AttendanceSource.QR)
    holders: dict[uuid.UUID, uuid.UUID] = {}
    with ctx.unit_of_work() as uow:
        for start in range(0, len(enrolled), 5000):
            part = enrolled[start : start + 5000]
            holders.update(TrainingSets(uow.session).holders(v for v, _ in part))
    courses_of: dict[uuid.UUID, int] = defaultdict(int)
    in_queue: dict[str, int] = defaultdict(int)
    by_institution: dict[str, list[AttendanceEvent]] = defaultdict(list)
    for n, (voucher_id, seat) in enumerate(enrolled, 1):
        holder = holders[voucher_id]
        weekday = courses_of[holder] % 7
        courses_of[holder] += 1
        place = in_queue[seat.institution]
        in_queue[seat.institution] += 1
        diligence = rng.choice((0.5, 0.9, 1.0, 1.0, 1.1))
        per_event = max(1, min(1440, round(seat.hours * 60 * diligence / scale.attendance_events)))
        device = f"DEV-{seat.institution[-6:]}"
        for k in range(scale.attendance_events):
            at = _cst(year, 4, 1) + timedelta(days=7 * k + weekday, seconds=20 * place)
            event = AttendanceEvent(voucher_id, rng.choice(sources), at, per_event, device)
            if n <= _LIVE_CHECK_INS:
                training.record_attendance(
                    ctx, voucher_id, event.source, at, per_event, event.device_id
                )
            else:
                by_institution[seat.institution].append(event)
        if n <= _LIVE_CHECK_INS:
            advance(n)
    done = min(len(enrolled), _LIVE_CHECK_INS)
    for institution in sorted(by_institution):
        events = by_institution[institution]
        record_attendance_chunked(ctx, events)
        done += len(events) // scale.attendance_events
        advance(done)


def _complete(
    ctx: AppContext, reporter: Reporter, rng: Random, enrolled: list[tuple[uuid.UUID, _Seat]]
) -> dict[str, int]:
    """Most holders complete, most of them with a certificate, a few leave (revoked). The
    first holders' completions are recorded one by one as at a counter; the rest are reported
    together (``completion_batches``, a transaction per chunk)."""
    advance = reporter.stage("Completions and skill certificates", len(enrolled))
    completed = certified = revoked = 0
    reported: list[tuple[int, CompletionRequest]] = []  # with the holder's place
    for n, (voucher_id, seat) in enumerate(enrolled, start=1):
        roll = rng.random()
        if roll < 0.02:
            lifecycle.revoke_voucher(ctx, voucher_id, "holder left the course")
            revoked += 1
        elif roll < 0.85:
            request = CompletionRequest(voucher_id)
            if rng.random() < 0.8:
                number = f"{seat.institution[2:8]}{n:010d}"
                request = CompletionRequest(voucher_id, number, seat.level)
                certified += 1
            if n <= _LIVE_COMPLETIONS:
                training.record_completion(
                    ctx, voucher_id, request.certificate_no, request.certificate_level
                )
            else:
                reported.append((n, request))
            completed += 1
        if n <= _LIVE_COMPLETIONS:
            advance(n)
    for start in range(0, len(reported), _PER_BATCH):
        batch = reported[start : start + _PER_BATCH]
        for outcome in record_completions_chunked(ctx, [r for _, r in batch]):
            if isinstance(outcome, DomainError):
                raise outcome
        advance(batch[-1][0])
    advance(len(enrolled))
    return {"completed": completed, "certified": certified, "revoked": revoked}


def _settle_and_pay(
    ctx: AppContext,
    reporter: Reporter,
    clock: DemoClock,
    start: date,
    end: date,
    payment_file: Path,
) -> Path | None:
    """Build, approve (a second person for large batches), publish, export, and pay once the
    public notice is over."""
    advance = reporter.stage(f"Settlement {start:%m-%d} to {end:%m-%d}", None)
    run = settlement.run_settlement(ctx, start, end, progress=lambda done, _t: advance(done))
    if not run.created:
        return None
    for batch in run.created:
        approved = settlement_batches.approve_batch(ctx, batch.batch_id, "太原市人社局审核员")
        if approved.status is BatchStatus.APPROVED_ONCE:
            settlement_batches.approve_batch(ctx, batch.batch_id, "太原市人社局财务科长")
        settlement_batches.publish_batch(ctx, batch.batch_id)
    settlement_batches.export_payment_file(ctx, [b.batch_id for b in run.created], payment_file)
    clock.move_to(notice_until(clock.now, ctx.settings.settlement_notice_days) + timedelta(hours=9))
    for batch in run.created:
        settlement_batches.mark_batch_paid(
            ctx, batch.batch_id, f"TR-{end:%Y%m}-{str(batch.batch_id)[-6:]}"
        )
    return payment_file
