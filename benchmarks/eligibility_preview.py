"""Eligibility preview at registry size (issue 5, point 2).

Times ``application.previews.preview_scheme`` — eligible count and budget, with the SQL a push
would use — for three schemes, against a bare ``SELECT count(*)`` over the people table in the
same run. Then checks the SQL path against the Python rules (``ineligibility_reasons``) person
by person over a sample of the registry (all of it when small): both must select the same
people. The generated property test (tests/integration/test_eligibility_paths.py) covers random
rules; this check covers realistic rules on a realistic registry.
"""

from __future__ import annotations

import time
import uuid
from datetime import date
from functools import partial
from typing import Any

import sqlalchemy as sa

from benchmarks.outcome import Check, Comparison, Figure, Outcome
from benchmarks.timing import percentile, timings
from skillvoucher.application.context import AppContext
from skillvoucher.application.previews import preview_scheme
from skillvoucher.application.scheme_files import SchemeDoc, parse_scheme_document
from skillvoucher.demo.scales import SCALES
from skillvoucher.demo.schemes import first_come_and_enterprise_schemes, target_group_scheme
from skillvoucher.domain.people import CardStatus, mask_to_groups
from skillvoucher.domain.schemes import PersonFacts, SchemeRules, ineligibility_reasons
from skillvoucher.domain.timekeeping import local_date, start_of_local_year
from skillvoucher.persistence.eligibility_sql import eligibility_condition
from skillvoucher.persistence.tables import Person

GOAL_SECONDS = {1_000_000: 0.5, 10_000_000: 3.0}
_IN_CHUNK = 1_000


def schemes(size: int) -> dict[str, SchemeDoc]:
    """The province's target-group push scheme (the headline), Taiyuan's graduates, and a
    narrow one: laid-off or unemployed people of 35 to 50 in two cities."""
    province = target_group_scheme(2026, quota=max(size, 1))
    graduates = first_come_and_enterprise_schemes(SCALES["pilot"], 2026)[0]
    narrow: dict[str, Any] = {
        **province,
        "code": "BENCH-NARROW",
        "eligibility": {
            "target_groups": ["laid_off", "unemployed"],
            "household_regions": ["140100", "140200"],
            "min_age": 35,
            "max_age": 50,
            "one_active_voucher": True,
        },
    }
    return {d["code"]: parse_scheme_document(d) for d in (province, graduates, narrow)}


def _bare_count(ctx: AppContext) -> None:
    with ctx.engine.connect() as connection:
        connection.scalar(sa.select(sa.func.count()).select_from(Person))


def _sample(ctx: AppContext, size: int) -> list[sa.Row[Any]]:
    # Ordered by the keyed ID digest: a pseudo-random sample, read through its unique index.
    with ctx.engine.connect() as connection:
        stmt = (
            sa.select(
                Person.id,
                Person.birth_date,
                Person.household_region,
                Person.target_groups_mask,
                Person.card_status,
                Person.employer_credit_code,
            )
            .order_by(Person.id_digest)
            .limit(size)
        )
        return list(connection.execute(stmt))


def _selected_by_both(
    ctx: AppContext, rules: SchemeRules, sample: list[sa.Row[Any]], today: date
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    year_start = start_of_local_year(today)
    condition = eligibility_condition(rules, today, year_start)
    by_sql: set[uuid.UUID] = set()
    by_python: set[uuid.UUID] = set()
    with ctx.unit_of_work() as uow:
        ids = [row.id for row in sample]
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            stmt = sa.select(Person.id).where(Person.id.in_(chunk), condition)
            by_sql.update(uow.session.scalars(stmt))
        for row in sample:
            facts = PersonFacts(
                birth_date=row.birth_date,
                household_region=row.household_region,
                groups=mask_to_groups(row.target_groups_mask),
                card_status=CardStatus(row.card_status),
                employer_credit_code=row.employer_credit_code,
            )
            history = uow.people.history(row.id, year_start)
            if not ineligibility_reasons(rules, facts, history, today):
                by_python.add(row.id)
    return by_sql, by_python


def run(ctx: AppContext, size: int, *, repeats: int, sample_size: int) -> Outcome:
    started = time.perf_counter()
    outcome = Outcome("preview", f"Eligibility preview, {size:,} people", ctx.engine.dialect.name)
    today = local_date(ctx.clock())
    count_times = timings(lambda: _bare_count(ctx), repeats)
    baseline = percentile(count_times, 0.5)
    outcome.figures.append(Figure("SELECT count(*) FROM people, median", baseline * 1000, "ms"))
    sample = _sample(ctx, sample_size)
    goal = GOAL_SECONDS.get(size)
    for code, doc in schemes(size).items():
        times = timings(partial(preview_scheme, ctx, doc), repeats)
        median, worst = percentile(times, 0.5), max(times)
        eligible = preview_scheme(ctx, doc).eligible
        outcome.figures += [
            Figure(f"{code}: eligible", eligible, "people"),
            Figure(f"{code}: preview median / worst", median * 1000, f"ms / {worst * 1000:.0f} ms"),
        ]
        outcome.comparisons.append(
            Comparison(
                f"{code}: preview ÷ count(*) (time)",
                f"{median * 1000:.0f} ms",
                f"{baseline * 1000:.0f} ms",
                median / baseline if baseline else 0.0,
                f"≤ {goal} s at {size:,}" if goal else "≤ 0.5 s at 1 M, ≤ 3 s at 10 M",
                None if goal is None else median <= goal,
            )
        )
        by_sql, by_python = _selected_by_both(ctx, doc.to_rules(), sample, today)
        outcome.checks.append(
            Check(
                f"{code}: SQL and Python select the same people",
                by_sql == by_python,
                f"{len(by_sql)} of a sample of {len(sample):,} by SQL, {len(by_python)} by "
                f"Python, {len(by_sql ^ by_python)} differ",
            )
        )
        if len(sample) == size:
            outcome.checks.append(
                Check(
                    f"{code}: preview count equals the Python count",
                    eligible == len(by_python),
                    f"{eligible} and {len(by_python)} over the whole registry",
                )
            )
    outcome.seconds = time.perf_counter() - started
    return outcome
