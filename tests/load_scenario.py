"""A bounded load run of a first-come claim campaign and the enrolments that follow it, against a
real HTTP server on a loopback port: no oversold quota, no double enrolment, a balanced ledger,
an intact audit chain, and refusals that stay 4xx (quota exhausted, rate limited), never 5xx.

One scenario, two callers: tests/integration/test_load_without_loss.py runs it small on both
databases and asserts ``LoadReport.problems == []``; benchmarks/load_claims_and_enrolments.py
runs it bigger and prints the figures. It lives here, beside builders.py, because the stage is
set with the same builders the tests use (the real use cases, no shortcuts).

Claimants sign in through ``start_worker_session``, the call the e-SSC callback makes once the
card holder's identity is vouched for: the run measures claims and enrolments, not the e-SSC
round-trip. Rate limits stay on: a 429 is an acceptable refusal.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import httpx2 as httpx
import sqlalchemy as sa

from builders import deposit, import_course, import_institution, import_people, make_scheme, person
from live_server import served
from skillvoucher.application.audit_verify import verify_audit_chain
from skillvoucher.application.context import AppContext
from skillvoucher.application.issuance_access import claim_for
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.application.sign_in import start_worker_session, worker_principal
from skillvoucher.domain.errors import DomainError
from skillvoucher.domain.vouchers import EnrolmentStatus
from skillvoucher.persistence.tables import Course, Enrolment, Person, Scheme, Voucher

FACE_VALUE_FEN = 150_000
CAMPAIGN = "TY-LOAD"
BASELINE = "TY-LOAD-SEQ"
PROBLEM_JSON = "application/problem+json"

# What each request may answer; anything else (above all a 5xx) is a failure of the run.
ALLOWED: dict[str, set[tuple[int, str | None]]] = {
    "claim": {(201, None), (409, "quota_exhausted"), (429, "rate_limited")},
    "consent": {(201, None), (429, "rate_limited")},
    # The duplicate attempt loses to the first: the voucher is enrolled, or the code is used.
    "enrol": {
        (201, None),
        (409, "already_enrolled"),
        (403, "consent_invalid"),
        (429, "rate_limited"),
    },
}


@dataclass(frozen=True)
class LoadPlan:
    quota: int = 200
    claimants: int = 600
    workers: int = 32


@dataclass(frozen=True)
class Reply:
    phase: str
    status: int
    code: str | None
    seconds: float
    body: dict[str, object]


@dataclass(frozen=True)
class Stage:
    """What the HTTP run acts on: a claim scheme, a course, and signed-in claimants."""

    course_id: uuid.UUID
    tokens: dict[uuid.UUID, str]  # person id -> bearer token


@dataclass
class LoadReport:
    plan: LoadPlan
    replies: list[Reply] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each HTTP phase, from its first request sent to its last answer."""
    baseline_seconds: float = 0.0
    baseline_issued: int = 0
    checks: dict[str, list[str]] = field(default_factory=dict)
    """Each invariant checked after the run, with what broke it (empty: it held)."""

    @property
    def problems(self) -> list[str]:
        return [p for failures in self.checks.values() for p in failures]

    def throughput(self, phase: str | None = None) -> float:
        """HTTP requests of ``phase`` (None: all) answered per second of its wall time."""
        answered = sum(self.statuses(phase).values())
        return answered / (self.seconds[phase] if phase else sum(self.seconds.values()))

    @property
    def baseline_throughput(self) -> float:
        """Claims answered per second, one after another through the application layer."""
        return self.plan.claimants / self.baseline_seconds

    def statuses(self, phase: str | None = None) -> Counter[int]:
        return Counter(r.status for r in self.replies if phase in (None, r.phase))

    def outcomes(self, phase: str | None = None) -> Counter[tuple[int, str | None]]:
        """How often each (status, problem code) was answered."""
        return Counter((r.status, r.code) for r in self.replies if phase in (None, r.phase))

    def latency(self, quantile: float, phase: str | None = None) -> float:
        """Seconds below which ``quantile`` of the phase's requests were answered."""
        times = sorted(r.seconds for r in self.replies if phase in (None, r.phase))
        return times[min(len(times) - 1, int(quantile * len(times)))]


def prepare(ctx: AppContext, plan: LoadPlan) -> Stage:
    """Registered eligible people, a course with room for every winner, and two funded claim
    schemes of ``plan.quota`` each: one raced over HTTP, one for the sequential baseline."""
    import_people(ctx, [person(name=f"学员{i}") for i in range(plan.claimants)])
    institution = import_institution(ctx)
    import_course(ctx, institution, capacity=plan.quota)
    budget = plan.quota * FACE_VALUE_FEN
    deposit(ctx, 2 * budget)
    for code in (CAMPAIGN, BASELINE):
        make_scheme(ctx, code=code, issuance="claim", quota=plan.quota, budget_fen=budget)
    with ctx.unit_of_work() as uow:
        course_id = uow.session.scalars(sa.select(Course.id)).one()
        people = list(uow.session.scalars(sa.select(Person.id)))
    tokens = {p: start_worker_session(ctx, p).token for p in people}
    return Stage(course_id, tokens)


def _send(
    http: httpx.Client, phase: str, path: str, token: str, body: dict[str, str] | None = None
) -> Reply:
    """One request and what came back; a dropped connection or a non-JSON answer (a bare 500
    from the server) becomes a reply the checks refuse, not an exception that hides the rest."""
    started = time.perf_counter()
    try:
        answer = http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        return Reply(phase, 0, f"no answer: {error!r}", time.perf_counter() - started, {})
    seconds = time.perf_counter() - started
    kind = answer.headers.get("content-type", "").split(";")[0].strip()
    if kind not in ("application/json", PROBLEM_JSON):
        return Reply(phase, answer.status_code, f"not JSON: {kind}", seconds, {})
    content: dict[str, object] = answer.json()
    code = content.get("code") if answer.status_code >= 400 else None
    if answer.status_code >= 400 and kind != PROBLEM_JSON:
        code = f"not problem+json: {kind}"
    return Reply(
        phase, answer.status_code, code if isinstance(code, str) else None, seconds, content
    )


def _all_at_once(
    pool: ThreadPoolExecutor, calls: list[Callable[[], Reply]], report: LoadReport, phase: str
) -> list[Reply]:
    started = time.perf_counter()
    replies = list(pool.map(lambda call: call(), calls))
    report.seconds[phase] = time.perf_counter() - started
    report.replies += replies
    return replies


def run_http(url: str, stage: Stage, plan: LoadPlan, report: LoadReport) -> None:
    """Every claimant claims at once; each winner gets a consent code, then enrols twice at
    once with it (the second attempt from another thread must lose)."""
    limits = httpx.Limits(max_connections=plan.workers, max_keepalive_connections=plan.workers)
    with (
        httpx.Client(base_url=url, timeout=120, limits=limits) as http,
        ThreadPoolExecutor(plan.workers, thread_name_prefix="load") as pool,
    ):
        claims = _all_at_once(
            pool,
            [
                partial(_send, http, "claim", f"/api/v1/schemes/{CAMPAIGN}/claims", token)
                for token in stage.tokens.values()
            ],
            report,
            "claim",
        )
        holders = {
            uuid.UUID(str(r.body["voucher_id"])): token
            for r, token in zip(claims, stage.tokens.values(), strict=True)
            if r.status == 201
        }
        consents = _all_at_once(
            pool,
            [
                partial(_send, http, "consent", f"/api/v1/vouchers/{voucher}/consent", token)
                for voucher, token in holders.items()
            ],
            report,
            "consent",
        )
        attempts: list[Callable[[], Reply]] = []
        for (voucher, token), consent in zip(holders.items(), consents, strict=True):
            if consent.status != 201:
                continue
            body = {
                "voucher_id": str(voucher),
                "course_id": str(stage.course_id),
                "consent_code": str(consent.body["code"]),
            }
            # Side by side in the queue, so two pool threads take them up together.
            attempts += [partial(_send, http, "enrol", "/api/v1/enrolments", token, body)] * 2
        _all_at_once(pool, attempts, report, "enrol")


def run_baseline(ctx: AppContext, stage: Stage, report: LoadReport) -> None:
    """The same claims, one after another through the application layer (no HTTP, no
    concurrency), on the second scheme: the figure the HTTP run is compared with."""
    started = time.perf_counter()
    for person_id in stage.tokens:
        principal = worker_principal(person_id)
        try:
            claim_for(ctx.acting_as(principal.label), principal, BASELINE)
            report.baseline_issued += 1
        except DomainError:  # the quota ran out: the refusal is part of the work measured
            pass
    report.baseline_seconds = time.perf_counter() - started


def check(ctx: AppContext, report: LoadReport) -> None:
    """Compare what the clients saw and what the database holds with what must hold."""
    quota = report.plan.quota
    report.checks["no 5xx; every refusal an expected 4xx problem"] = [
        f"{r.phase} answered {r.status} {r.code}: {r.body}"
        for r in report.replies
        if (r.status, r.code) not in ALLOWED[r.phase]
    ]
    won, enrolled = report.statuses("claim")[201], report.statuses("enrol")[201]
    oversold = [] if won == quota else [f"{won} claims won over HTTP, not {quota}"]
    if report.baseline_issued != quota:
        oversold.append(f"the baseline issued {report.baseline_issued}, not {quota}")
    with ctx.unit_of_work() as uow:
        session = uow.session
        for code in (CAMPAIGN, BASELINE):
            counted = session.execute(
                sa.select(Scheme.issued_count, sa.func.count(Voucher.id))
                .outerjoin(Voucher, Voucher.scheme_id == Scheme.id)
                .where(Scheme.code == code)
                .group_by(Scheme.issued_count)
            ).one()
            if tuple(counted) != (quota, quota):
                oversold.append(f"{code}: issued_count, vouchers = {tuple(counted)}")
        doubled = session.scalars(
            sa.select(Enrolment.voucher_id)
            .where(Enrolment.status == EnrolmentStatus.ACTIVE)
            .group_by(Enrolment.voucher_id)
            .having(sa.func.count() > 1)
        ).all()
        enrolments = session.scalar(sa.select(sa.func.count()).select_from(Enrolment))
        seats = session.scalar(sa.select(Course.enrolled_count))
    report.checks[f"no oversell: vouchers issued == quota ({quota})"] = oversold
    twice = [f"{len(doubled)} vouchers hold two active enrolments"] if doubled else []
    if (enrolled, enrolments, seats) != (quota, quota, quota):
        twice.append(f"201s, enrolments, seats taken = {enrolled}, {enrolments}, {seats}")
    report.checks["no double enrolment: one per winning voucher"] = twice
    report.checks["ledger balanced (ledger_problems == [])"] = ledger_problems(ctx)
    intact = verify_audit_chain(ctx).intact
    report.checks["audit chain intact"] = [] if intact else ["the audit chain is broken"]


def run_load(ctx: AppContext, plan: LoadPlan) -> LoadReport:
    """Set the stage in ``ctx``'s (empty, migrated) database, run the load and the baseline,
    and check the outcome; the report's ``problems`` is empty when everything held."""
    report = LoadReport(plan)
    stage = prepare(ctx, plan)
    # A connection for each client thread, plus room for the server's own lookups.
    with served(ctx, pool_size=plan.workers + 10) as url:
        run_http(url, stage, plan, report)
    run_baseline(ctx, stage, report)
    check(ctx, report)
    return report
