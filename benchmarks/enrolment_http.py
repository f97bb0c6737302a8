"""Goal 4, enrolment under load over HTTP: C clients enrol distinct vouchers through the API.

Stage (real use cases): N registered people, a push scheme that issues each a voucher, one
approved institution with ``courses`` courses (enrolments spread over them, as a campaign's
are: one course's seat counter would otherwise be the only thing measured), a consent code
granted per voucher, and a signed-in session per holder. Then, against a served app with rate
limits off, ``clients`` concurrent clients:

- baseline: N reads of ``GET /api/v1/schemes/{code}`` by a city administrator, the API's
  smallest authenticated read (the session lookup, then one indexed single-row SELECT of the
  scheme by its unique code). The catalogue has no GET by id; ``GET /vouchers/{id}`` reads the
  voucher, its scheme, course, enrolment and certificate; ``/healthz`` has no sign-in.
- measured: N ``POST /api/v1/enrolments``, each holder enrolling their own voucher with its
  consent code on the next course in turn.

Reported: requests/s, p50 and p99 of each, their ratios, and every answer by status. Checks:
every enrolment answered 201 (no error is expected: the vouchers are distinct), one active
enrolment per voucher, seats taken == enrolments, the ledger balanced, the audit chain intact.
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from benchmarks.http_clients import Call, HttpRun, fire_apart
from benchmarks.http_stage import (
    SETUP_THREADS,
    register_people,
    served_without_rate_limits,
    worker_tokens,
)
from benchmarks.outcome import Check, Comparison, Figure, Outcome
from builders import CITY, CourseSpec, deposit, import_institution, make_scheme, write_csv
from principals import staff_headers
from skillvoucher.application import catalogue_import, enrolment
from skillvoucher.application.audit_verify import verify_audit_chain
from skillvoucher.application.context import AppContext
from skillvoucher.application.issuance import push_issue
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.domain.access import Role
from skillvoucher.domain.vouchers import EnrolmentStatus
from skillvoucher.persistence.tables import Course, Enrolment, Voucher

SCHEME = "TY-BENCH-ENROL"
FACE_VALUE_FEN = 150_000


def _courses(ctx: AppContext, count: int, seats: int) -> list[uuid.UUID]:
    institution = import_institution(ctx)
    rows = [
        CourseSpec(course_code=f"C{i:03d}", capacity=seats).row(institution) for i in range(count)
    ]
    path = write_csv(
        ctx.settings.data_dir / "bench-courses.csv", catalogue_import.COURSE_COLUMNS, rows
    )
    report = catalogue_import.import_courses(ctx, path)
    if report.problems:
        raise SystemExit(f"benchmark courses were rejected: {report.problems}")
    with ctx.engine.connect() as connection:
        return list(connection.scalars(sa.select(Course.id).order_by(Course.course_code)))


def _enrolment_calls(ctx: AppContext, people: int, courses: int) -> list[Call]:
    """Each voucher's holder, with a fresh consent code, on the next course in turn."""
    course_ids = _courses(ctx, courses, seats=people // courses + 1)
    deposit(ctx, people * FACE_VALUE_FEN)
    make_scheme(ctx, code=SCHEME, issuance="push", quota=people, budget_fen=people * FACE_VALUE_FEN)
    push_issue(ctx, SCHEME)
    with ctx.engine.connect() as connection:
        vouchers = list(connection.execute(sa.select(Voucher.id, Voucher.person_id)))
    tokens = worker_tokens(ctx, [holder for _, holder in vouchers])
    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        codes = list(pool.map(lambda v: enrolment.grant_consent(ctx, v.id).code, vouchers))
    return [
        Call(
            "POST",
            "/api/v1/enrolments",
            tokens[holder],
            {
                "voucher_id": str(voucher),
                "course_id": str(course_ids[i % len(course_ids)]),
                "consent_code": code,
            },
        )
        for i, ((voucher, holder), code) in enumerate(zip(vouchers, codes, strict=True))
    ]


def _checks(ctx: AppContext, run: HttpRun, people: int) -> list[Check]:
    created = sum(1 for a in run.answers if a.status == 201)
    with ctx.engine.connect() as connection:
        active = connection.scalar(
            sa.select(sa.func.count(sa.distinct(Enrolment.voucher_id))).where(
                Enrolment.status == EnrolmentStatus.ACTIVE
            )
        )
        rows = connection.scalar(sa.select(sa.func.count()).select_from(Enrolment))
        seats = connection.scalar(sa.select(sa.func.sum(Course.enrolled_count)))
    return [
        Check("every enrolment answered 201", created == people, f"{created:,} of {people:,}"),
        Check(
            "one active enrolment per voucher, seats taken == enrolments",
            active == rows == seats == created,
            f"vouchers enrolled {active:,}, enrolments {rows:,}, seats {seats:,}",
        ),
        Check("ledger balanced", not (problems := ledger_problems(ctx)), "; ".join(problems[:3])),
        Check("audit chain intact", verify_audit_chain(ctx).intact, ""),
    ]


def _answers(run: HttpRun, what: str) -> list[Figure]:
    return [
        Figure(f"{what}: answered {status} {code or ''}".rstrip(), count, "requests")
        for (status, code), count in sorted(run.outcomes().items(), key=str)
    ]


def run(ctx: AppContext, people: int, clients: int, courses: int = 50) -> Outcome:
    outcome = Outcome(
        "enrolment_http",
        f"Enrolment over HTTP, {people:,} vouchers, {clients} clients, {courses} courses",
        ctx.engine.dialect.name,
    )
    if ctx.engine.dialect.name != "postgresql":
        outcome.checks.append(Check("runs on PostgreSQL only", True, "skipped"))
        return outcome
    register_people(ctx, people)
    enrolments = _enrolment_calls(ctx, people, courses)
    admin = staff_headers(ctx, Role.CITY_ADMIN, region_code=CITY)["Authorization"].split()[1]
    reads = [Call("GET", f"/api/v1/schemes/{SCHEME}", admin)] * people
    with served_without_rate_limits(ctx, clients) as url:
        fire_apart(url, reads[: 2 * clients], clients)  # warm-up: connections, caches
        baseline = fire_apart(url, reads, clients)
        measured = fire_apart(url, enrolments, clients)
    outcome.seconds = baseline.seconds + measured.seconds
    outcome.figures += [
        Figure("enrolments per second (POST /api/v1/enrolments)", measured.rate, "req/s"),
        Figure("enrolment p50", measured.latency(0.5) * 1000, "ms"),
        Figure("enrolment p99", measured.latency(0.99) * 1000, "ms"),
        Figure("baseline reads per second (GET /api/v1/schemes/{code})", baseline.rate, "req/s"),
        Figure("baseline p50", baseline.latency(0.5) * 1000, "ms"),
        Figure("baseline p99", baseline.latency(0.99) * 1000, "ms"),
        *_answers(measured, "enrolments"),
        *_answers(baseline, "baseline reads"),
    ]
    p99, base_p99 = measured.latency(0.99), baseline.latency(0.99)
    outcome.comparisons += [
        Comparison(
            "throughput, enrolments / baseline reads",
            f"{measured.rate:,.0f} req/s",
            f"{baseline.rate:,.0f} req/s",
            measured.rate / baseline.rate,
            ">= 0.5",
            measured.rate / baseline.rate >= 0.5,
        ),
        Comparison(
            "p99, enrolment / baseline read",
            f"{p99 * 1000:,.1f} ms",
            f"{base_p99 * 1000:,.1f} ms",
            p99 / base_p99,
            "<= 2",
            p99 / base_p99 <= 2,
        ),
    ]
    outcome.checks += _checks(ctx, measured, people)
    baseline_ok = sum(1 for a in baseline.answers if a.status == 200)
    outcome.checks.append(
        Check("every baseline read answered 200", baseline_ok == people, f"{baseline_ok:,}")
    )
    return outcome
