"""Goal 5, the first-come claim rush: R distinct workers claim from a quota of Q.

Stage (real use cases): R registered eligible people with a signed-in session each and a
funded first-come ("claim") scheme of quota Q. Against a served app with rate limits off,
``clients`` concurrent clients send every ``POST /api/v1/schemes/{code}/claims`` once.

Then, straight on PostgreSQL at the same concurrency (``claim_sql.py``): the baseline, R
autocommit ``UPDATE bench_hot_row SET n = n + 1 WHERE id = 1 AND n < Q`` (a first-come quota
on one counter row), and the striped quota gate that decides claims (``quota_gate.py``), as the
SQL its repository sends, on a second scheme of quota Q. The goal (>= 2x) compares these two:
Python HTTP on two cores answers far fewer requests a second than PostgreSQL runs UPDATEs, so
the end-to-end rate is reported beside them, with its own ratio, and no goal.

Checks: exactly Q claims won (201), Q vouchers, the scheme's issued count and the places taken
from its stripes all at Q (no oversell), every other request answered 409 ``quota_exhausted``,
the hot row and the gate each granting exactly Q, the ledger balanced, the audit chain intact.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from benchmarks.claim_sql import gate_rate, hot_row_rate
from benchmarks.http_clients import Call, HttpRun, fire_apart
from benchmarks.http_stage import register_people, served_without_rate_limits, worker_tokens
from benchmarks.outcome import Check, Comparison, Figure, Outcome
from builders import deposit, make_scheme
from skillvoucher.application.audit_verify import verify_audit_chain
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.persistence.tables import Scheme, SchemeQuotaStripe, Voucher

SCHEME = "TY-BENCH-RUSH"
GATE_SCHEME = "TY-BENCH-GATE"
ASKING_GATE_SCHEME = "TY-BENCH-GATE-ASK"
FACE_VALUE_FEN = 150_000
LOST = (409, "quota_exhausted")


def _claim_checks(ctx: AppContext, run: HttpRun, quota: int, claims: int) -> list[Check]:
    outcomes = run.outcomes()
    won, lost = outcomes[(201, None)], outcomes[LOST]
    with ctx.engine.connect() as connection:
        issued = connection.scalar(sa.select(Scheme.issued_count).where(Scheme.code == SCHEME))
        vouchers = connection.scalar(
            sa.select(sa.func.count(Voucher.id))
            .join(Scheme, Scheme.id == Voucher.scheme_id)
            .where(Scheme.code == SCHEME)
        )
        taken = connection.scalar(
            sa.select(sa.func.sum(SchemeQuotaStripe.taken))
            .join(Scheme, Scheme.id == SchemeQuotaStripe.scheme_id)
            .where(Scheme.code == SCHEME)
        )
    return [
        Check(
            "no oversell: 201s == vouchers == issued count == places taken == quota",
            won == vouchers == issued == taken == quota,
            f"201s {won:,}, vouchers {vouchers:,}, issued count {issued:,}, "
            f"places taken from the stripes {taken or 0:,}, quota {quota:,}",
        ),
        Check(
            "every other claim answered 409 quota_exhausted",
            lost == claims - quota,
            f"{lost:,} of {claims - quota:,}",
        ),
        Check("ledger balanced", not (problems := ledger_problems(ctx)), "; ".join(problems[:3])),
        Check("audit chain intact", verify_audit_chain(ctx).intact, ""),
    ]


def _gate_scheme(ctx: AppContext, code: str, quota: int) -> Scheme:
    """Another first-come scheme of the same quota with its stripes laid out, for a straight-SQL
    run of the gate."""
    deposit(ctx, quota * FACE_VALUE_FEN)
    view = make_scheme(
        ctx, code=code, issuance="claim", quota=quota, budget_fen=quota * FACE_VALUE_FEN
    )
    with ctx.unit_of_work() as uow:
        scheme = uow.schemes.by_code(view.code)
        assert scheme is not None
        uow.schemes.stripes.lay_out(scheme.id, scheme.province_code, quota)
        uow.commit()
    return scheme


def _sql_round(
    ctx: AppContext, outcome: Outcome, quota: int, claims: int, clients: int, n: int, rounds: int
) -> float:
    """One round of the straight-SQL comparison on fresh schemes; returns the goal's ratio."""
    label = "" if rounds == 1 else f" (round {n + 1})"
    codes = (GATE_SCHEME, ASKING_GATE_SCHEME) if n == 0 else (f"TY-BG{n}", f"TY-BGA{n}")
    gate_scheme, asking_scheme = (_gate_scheme(ctx, code, quota) for code in codes)
    hot = hot_row_rate(ctx, quota, claims, clients)
    asking = gate_rate(ctx, asking_scheme.id, quota, claims, clients)
    memory = ctx.settings.quota_exhausted_memory_seconds
    gate = gate_rate(ctx, gate_scheme.id, quota, claims, clients, memory)
    outcome.figures += [
        Figure(
            f"gate: claims decided per second (SQL, striped quota, a full quota remembered "
            f"{memory:g} s){label}",
            gate.rate,
            "req/s",
        ),
        Figure(f"gate asking the database for every claim{label}", asking.rate, "req/s"),
        Figure(f"baseline hot-row conditional UPDATEs per second{label}", hot.rate, "stmt/s"),
        Figure(f"gate: quota gone after (SQL){label}", gate.last_grant, "s"),
        Figure(f"gate asking every time: quota gone after{label}", asking.last_grant, "s"),
        Figure(f"hot row: quota gone after{label}", hot.last_grant, "s"),
    ]
    outcome.comparisons += [
        Comparison(
            f"gate / hot-row UPDATEs per second (both SQL){label}",
            f"{gate.rate:,.0f} req/s",
            f"{hot.rate:,.0f} stmt/s",
            gate.rate / hot.rate,
            ">= 2",
            gate.rate / hot.rate >= 2,
        ),
        Comparison(
            f"gate asking every time / hot-row UPDATEs per second{label}",
            f"{asking.rate:,.0f} req/s",
            f"{hot.rate:,.0f} stmt/s",
            asking.rate / hot.rate,
            "(without the memory, no goal)",
            None,
        ),
    ]
    outcome.checks += [
        Check(
            f"the hot-row baseline granted exactly the quota{label}",
            hot.granted == quota,
            f"{hot.granted:,}",
        ),
        Check(
            f"the gate granted exactly the quota{label}",
            gate.granted == quota,
            f"{gate.granted:,}",
        ),
        Check(
            f"the gate asking every time granted exactly the quota{label}",
            asking.granted == quota,
            f"{asking.granted:,}",
        ),
    ]
    return hot.rate


def run(
    ctx: AppContext,
    quota: int,
    claims: int,
    clients: int,
    *,
    rounds: int = 1,
    over_http: bool = True,
) -> Outcome:
    """The rush over HTTP (unless ``over_http`` is False), then ``rounds`` rounds of the
    straight-SQL comparison, each on fresh schemes, after the server has stopped."""
    outcome = Outcome(
        "claim_rush",
        f"First-come claim rush, quota {quota:,}, {claims:,} claims, {clients} clients",
        ctx.engine.dialect.name,
    )
    if ctx.engine.dialect.name != "postgresql":
        outcome.checks.append(Check("runs on PostgreSQL only", True, "skipped"))
        return outcome
    measured = _http_rush(ctx, quota, claims, clients) if over_http else None
    started = time.perf_counter()
    hot_rate = 0.0
    for n in range(rounds):
        hot_rate = _sql_round(ctx, outcome, quota, claims, clients, n, rounds)
    outcome.seconds = measured.seconds if measured else time.perf_counter() - started
    if measured is None:
        return outcome
    losers = {LOST[0]}
    outcome.figures += [
        Figure("claims answered per second over HTTP (POST …/claims)", measured.rate, "req/s"),
        Figure("winners' p50", measured.latency(0.5, {201}) * 1000, "ms"),
        Figure("winners' p99", measured.latency(0.99, {201}) * 1000, "ms"),
        Figure("losers' p50 (409)", measured.latency(0.5, losers) * 1000, "ms"),
        Figure("losers' p99 (409)", measured.latency(0.99, losers) * 1000, "ms"),
        *(
            Figure(f"claims: answered {status} {code or ''}".rstrip(), count, "requests")
            for (status, code), count in sorted(measured.outcomes().items(), key=str)
        ),
    ]
    outcome.comparisons.append(
        Comparison(
            "HTTP claims / hot-row UPDATEs per second",
            f"{measured.rate:,.0f} req/s",
            f"{hot_rate:,.0f} stmt/s",
            measured.rate / hot_rate,
            "(end to end, no goal)",
            None,
        )
    )
    outcome.checks += _claim_checks(ctx, measured, quota, claims)
    return outcome


def _http_rush(ctx: AppContext, quota: int, claims: int, clients: int) -> HttpRun:
    """Every registered person claims once, through a served app with rate limits off."""
    tokens = worker_tokens(ctx, register_people(ctx, claims))
    deposit(ctx, quota * FACE_VALUE_FEN)
    make_scheme(ctx, code=SCHEME, issuance="claim", quota=quota, budget_fen=quota * FACE_VALUE_FEN)
    calls = [Call("POST", f"/api/v1/schemes/{SCHEME}/claims", t) for t in tokens.values()]
    with served_without_rate_limits(ctx, clients) as url:
        return fire_apart(url, calls, clients)
