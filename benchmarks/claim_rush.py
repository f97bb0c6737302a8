"""Goal 5, the first-come claim rush: R distinct workers claim from a quota of Q through the API.

Stage (real use cases): R registered eligible people with a signed-in session each and a
funded first-come ("claim") scheme of quota Q. Against a served app with rate limits off,
``clients`` concurrent clients send every ``POST /api/v1/schemes/{code}/claims`` once.

Baseline, same run, same concurrency, straight on PostgreSQL: R autocommit statements
``UPDATE bench_hot_row SET n = n + 1 WHERE id = 1 AND n < Q`` from ``clients`` connections,
the least a first-come quota on one counter row can cost (the row's lock taken and released
by every request, winners and losers alike).

Reported: claims/s against hot-row updates/s, winners, and losers' answers and latency.
Checks: exactly Q claims won (201) and Q vouchers in the database with the scheme's issued
count at Q (no oversell), every other request answered 409 ``quota_exhausted``, the hot-row
baseline granting exactly Q too, the ledger balanced and the audit chain intact.
"""

from __future__ import annotations

import threading
import time

import psycopg
import sqlalchemy as sa

from benchmarks.http_clients import Call, HttpRun, fire_apart
from benchmarks.http_stage import register_people, served_without_rate_limits, worker_tokens
from benchmarks.outcome import Check, Comparison, Figure, Outcome
from builders import deposit, make_scheme
from skillvoucher.application.audit_verify import verify_audit_chain
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.persistence.tables import Scheme, Voucher

SCHEME = "TY-BENCH-RUSH"
FACE_VALUE_FEN = 150_000
LOST = (409, "quota_exhausted")


def hot_row_rate(ctx: AppContext, quota: int, requests: int, clients: int) -> tuple[float, int]:
    """Conditional UPDATEs of one row per second, and how many of them took a unit."""
    url = ctx.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_hot_row")
        connection.execute("CREATE TABLE bench_hot_row (id int PRIMARY KEY, n int NOT NULL)")
        connection.execute("INSERT INTO bench_hot_row VALUES (1, 0)")
    granted = [0] * clients
    ready = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        with psycopg.connect(url, autocommit=True) as connection:
            ready.wait()
            for _ in range(index, requests, clients):
                cursor = connection.execute(
                    "UPDATE bench_hot_row SET n = n + 1 WHERE id = 1 AND n < %s", (quota,)
                )
                granted[index] += cursor.rowcount

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP TABLE bench_hot_row")
    return requests / seconds, sum(granted)


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
    return [
        Check(
            "no oversell: 201s == vouchers == issued count == quota",
            won == vouchers == issued == quota,
            f"201s {won:,}, vouchers {vouchers:,}, issued count {issued:,}, quota {quota:,}",
        ),
        Check(
            "every other claim answered 409 quota_exhausted",
            lost == claims - quota,
            f"{lost:,} of {claims - quota:,}",
        ),
        Check("ledger balanced", not (problems := ledger_problems(ctx)), "; ".join(problems[:3])),
        Check("audit chain intact", verify_audit_chain(ctx).intact, ""),
    ]


def run(ctx: AppContext, quota: int, claims: int, clients: int) -> Outcome:
    outcome = Outcome(
        "claim_rush",
        f"First-come claim rush, quota {quota:,}, {claims:,} claims, {clients} clients",
        ctx.engine.dialect.name,
    )
    if ctx.engine.dialect.name != "postgresql":
        outcome.checks.append(Check("runs on PostgreSQL only", True, "skipped"))
        return outcome
    tokens = worker_tokens(ctx, register_people(ctx, claims))
    deposit(ctx, quota * FACE_VALUE_FEN)
    make_scheme(ctx, code=SCHEME, issuance="claim", quota=quota, budget_fen=quota * FACE_VALUE_FEN)
    calls = [Call("POST", f"/api/v1/schemes/{SCHEME}/claims", t) for t in tokens.values()]
    with served_without_rate_limits(ctx, clients) as url:
        measured = fire_apart(url, calls, clients)
    hot_rate, hot_granted = hot_row_rate(ctx, quota, claims, clients)
    outcome.seconds = measured.seconds
    losers = {LOST[0]}
    outcome.figures += [
        Figure("claims answered per second (POST …/claims)", measured.rate, "req/s"),
        Figure("baseline hot-row conditional UPDATEs per second", hot_rate, "stmt/s"),
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
            "claims / hot-row UPDATEs per second",
            f"{measured.rate:,.0f} req/s",
            f"{hot_rate:,.0f} stmt/s",
            measured.rate / hot_rate,
            ">= 2",
            measured.rate / hot_rate >= 2,
        )
    )
    outcome.checks += _claim_checks(ctx, measured, quota, claims)
    outcome.checks.append(
        Check(
            "the hot-row baseline granted exactly the quota",
            hot_granted == quota,
            f"{hot_granted:,}",
        )
    )
    return outcome
