"""Statistics at size (issue 5, point 6).

Times the statistics as the API serves them (``application.statistics.compute_statistics``:
ledger balances and totals by kind, voucher totals and the five breakdowns) and the dashboard's
figures for the whole country (totals, months, provinces, schemes, target groups, top
institutions), both read from the tallies that triggers keep (``persistence.tally_sql``),
against the same statistics from naive GROUP BY queries written by hand, in the same run.
The tallies are timed as the fixture's COPYs left them and again after folding
(``fold-tallies``). Checks: the API's figures equal the naive ones, and every figure of the
tallies (statistics, ledger, dashboard per year) equals a recount (``tally_checks``).
"""

from __future__ import annotations

import time
from dataclasses import astuple
from functools import partial

from benchmarks.outcome import Check, Comparison, Figure, Outcome
from benchmarks.timing import percentile, timings
from skillvoucher.application.context import AppContext
from skillvoucher.application.statistics import compute_statistics
from skillvoucher.application.tally_checks import tally_problems
from skillvoucher.application.tally_upkeep import fold_tallies
from skillvoucher.persistence.read_models import dashboard
from skillvoucher.persistence.read_models.statistics import (
    DIMENSIONS,
    Counts,
    breakdown,
    ledger_balances,
    ledger_kind_totals,
    totals,
)

GOAL_SPEEDUP = 50.0
GOAL_P95_SECONDS = 0.100

_MEASURES = """
    count(*),
    sum(CASE WHEN s.issuance_mode IN ('claim', 'application') THEN 1 ELSE 0 END),
    count(v.enrolled_at), count(v.completed_at), count(v.certificate_no),
    sum(CASE WHEN v.status = 'settled' THEN 1 ELSE 0 END),
    sum(CASE WHEN v.status = 'expired' THEN 1 ELSE 0 END),
    sum(CASE WHEN v.status = 'revoked' THEN 1 ELSE 0 END),
    coalesce(sum(v.face_value_fen), 0), coalesce(sum(v.redeemable_fen), 0),
    coalesce(sum(p.paid), 0)
"""
_FROM = """
    FROM vouchers v
    JOIN schemes s ON s.id = v.scheme_id
    LEFT JOIN (
        SELECT voucher_id, sum(amount_fen) AS paid FROM ledger_entries
        WHERE account = 'paid' AND voucher_id IS NOT NULL GROUP BY voucher_id
    ) p ON p.voucher_id = v.id
"""


def _naive_queries(dialect: str) -> dict[str, str]:
    month = (
        "to_char(timezone('Asia/Shanghai', v.issued_at), 'YYYY-MM')"
        if dialect == "postgresql"
        else "strftime('%Y-%m', v.issued_at, '+8 hours')"
    )
    keys = {
        "region": ("v.holder_region", ""),
        "scheme": ("s.code", ""),
        "target_group": ("coalesce(v.target_group, '-')", ""),
        "institution": ("i.credit_code", "JOIN institutions i ON i.id = v.institution_id"),
        "month": (month, ""),
    }
    queries = {
        "all": f"SELECT 'all', {_MEASURES} {_FROM}",
        "balances": "SELECT account, sum(amount_fen) FROM ledger_entries GROUP BY 1",
        "moved": "SELECT kind, sum(amount_fen) FROM ledger_entries WHERE amount_fen > 0 GROUP BY 1",
    }
    for name, (key, join) in keys.items():
        queries[name] = f"SELECT {key}, {_MEASURES} {_FROM} {join} GROUP BY 1 ORDER BY 1"
    return queries


def _naive(ctx: AppContext) -> dict[str, dict[str, tuple[int, ...]]]:
    figures: dict[str, dict[str, tuple[int, ...]]] = {}
    with ctx.engine.connect() as connection:
        for name, sql in _naive_queries(ctx.engine.dialect.name).items():
            rows = connection.exec_driver_sql(sql)
            figures[name] = {str(key): tuple(int(v) for v in rest) for key, *rest in rows}
    # A bucket whose postings net to zero is as good as one never posted.
    for name in ("balances", "moved"):
        figures[name] = {key: value for key, value in figures[name].items() if any(value)}
    return figures


def _read_model(ctx: AppContext) -> dict[str, dict[str, tuple[int, ...]]]:
    def measures(counts: Counts) -> tuple[int, ...]:
        return tuple(int(v) for v in astuple(counts)[2:])

    with ctx.unit_of_work() as uow:
        figures = {"all": {"all": measures(totals(uow.session))}}
        # The amounts compute_statistics reads from the ledger (every bucket, 0 if never posted).
        balances = ledger_balances(uow.session).items()
        figures["balances"] = {str(a.value): (v,) for a, v in balances if v}
        moved = ledger_kind_totals(uow.session).items()
        figures["moved"] = {str(k.value): (v,) for k, v in moved if v}
        for dimension in DIMENSIONS:
            rows = breakdown(uow.session, dimension)
            figures[dimension] = {row.key: measures(row) for row in rows}
    return figures


def _dashboard(ctx: AppContext) -> None:
    """The dashboard's figures for the whole country, as ``application.dashboard`` reads them."""
    part = dashboard.Slice()
    with ctx.read_unit_of_work() as uow:
        session = uow.session
        dashboard.overall(session, part)
        dashboard.monthly(session, part)
        dashboard.by_region(session, part, 2)
        dashboard.by_scheme(session, part)
        dashboard.by_target_group(session, part)
        dashboard.by_institution(session, part, 10)


def _tally_rows(counts: dict[str, tuple[int, int]], which: int) -> int:
    return sum(pair[which] for pair in counts.values())


def run(ctx: AppContext, vouchers: int, *, repeats: int) -> Outcome:
    started = time.perf_counter()
    outcome = Outcome(
        "statistics", f"Statistics over {vouchers:,} vouchers", ctx.engine.dialect.name
    )
    unfolded = timings(partial(compute_statistics, ctx), repeats)
    fold_started = time.perf_counter()
    folded = fold_tallies(ctx)
    fold_seconds = time.perf_counter() - fold_started
    model_times = timings(partial(compute_statistics, ctx), repeats)
    dashboard_times = timings(partial(_dashboard, ctx), repeats)
    naive_times = timings(partial(_naive, ctx), repeats)
    model_p50, model_p95 = percentile(model_times, 0.5), percentile(model_times, 0.95)
    naive_p50, naive_p95 = percentile(naive_times, 0.5), percentile(naive_times, 0.95)
    outcome.figures += [
        Figure("tally rows as the COPYs left them", _tally_rows(folded, 0), "rows"),
        Figure("compute_statistics p95, before folding", percentile(unfolded, 0.95) * 1000, "ms"),
        Figure("folding the tallies", fold_seconds * 1000, "ms"),
        Figure("tally rows after folding", _tally_rows(folded, 1), "rows"),
        Figure("compute_statistics p50", model_p50 * 1000, "ms"),
        Figure("compute_statistics p95", model_p95 * 1000, "ms"),
        Figure("dashboard (whole country) p50", percentile(dashboard_times, 0.5) * 1000, "ms"),
        Figure("dashboard (whole country) p95", percentile(dashboard_times, 0.95) * 1000, "ms"),
        Figure("naive GROUP BY queries p50", naive_p50 * 1000, "ms"),
        Figure("naive GROUP BY queries p95", naive_p95 * 1000, "ms"),
    ]
    applies = vouchers >= 1_000_000
    speedup = naive_p50 / model_p50 if model_p50 else 0.0
    outcome.comparisons += [
        Comparison(
            "naive ÷ read model (time: speed-up)",
            f"{model_p50 * 1000:.0f} ms",
            f"{naive_p50 * 1000:.0f} ms",
            speedup,
            f"≥ {GOAL_SPEEDUP:.0f}× (goal at 10 M)",
            speedup >= GOAL_SPEEDUP if applies else None,
        ),
        Comparison(
            "read model p95 ÷ 100 ms",
            f"{model_p95 * 1000:.0f} ms",
            "100 ms",
            model_p95 / GOAL_P95_SECONDS,
            "≤ 1 (p95 ≤ 100 ms at 10 M)",
            model_p95 <= GOAL_P95_SECONDS if applies else None,
        ),
    ]
    model, naive = _read_model(ctx), _naive(ctx)
    differing = [name for name in naive if model.get(name) != naive[name]]
    outcome.checks.append(
        Check(
            "read model figures equal the naive GROUP BY",
            not differing and model["all"]["all"][0] == vouchers,
            f"{len(naive)} groupings compared, differing: {', '.join(differing) or 'none'}; "
            f"{model['all']['all'][0]:,} vouchers counted",
        )
    )
    with ctx.unit_of_work() as uow:
        problems = tally_problems(uow.session)
    outcome.checks.append(
        Check(
            "every tallied figure (statistics, ledger, dashboard by year) equals a recount",
            not problems,
            "; ".join(problems[:3]) or "no difference",
        )
    )
    outcome.seconds = time.perf_counter() - started
    return outcome
