"""The voucher-history rules of eligibility (a yearly limit, one open voucher) in SQL and Python.

``eligibility_condition`` compiles these rules to anti-joins (one shared ``NOT EXISTS`` where a
single voucher disqualifies, a grouped count for limits above one), shaped for PostgreSQL's
planner. Here every combination of the two rules meets one person per kind of history, on both
databases, and the generated scenarios of test_eligibility_paths.py also run on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from test_eligibility_paths import (
    PersonSpec,
    Prior,
    Scenario,
    check_paths_agree,
    scenarios,
)

from builders import Clock, make_context
from skillvoucher.application.context import AppContext
from skillvoucher.domain.people import CardStatus, TargetGroup

# One person per history; prior schemes 0, 1 and 2 are distinct, a person holds one of each.
HISTORIES: list[list[tuple[int, str, bool]]] = [
    [],  # 0: none
    [(0, "last_year_end", False)],  # 1: one last year, still open
    [(0, "this_year_start", False)],  # 2: one this year
    [(0, "today", True)],  # 3: one this year, revoked
    [(0, "this_year_start", False), (1, "today", False)],  # 4: two this year
    [(0, "this_year_start", False), (1, "today", False), (2, "today", False)],  # 5: three
    [(0, "last_year_end", False), (1, "today", False)],  # 6: one last year, one this year
    [(0, "this_year_start", True), (1, "today", False)],  # 7: one revoked, one this year
]
NOBODY_OPEN = {0, 3}  # everyone else holds a voucher that is not revoked


@pytest.mark.parametrize(
    ("limit", "one_active", "expected"),
    [
        (None, False, set(range(len(HISTORIES)))),
        (None, True, NOBODY_OPEN),
        (1, False, {0, 1, 3}),
        (1, True, NOBODY_OPEN),
        (2, False, {0, 1, 2, 3, 6, 7}),
        (2, True, NOBODY_OPEN),
        (3, False, {0, 1, 2, 3, 4, 6, 7}),
    ],
)
def test_yearly_limit_and_one_open_voucher(
    ctx: AppContext, clock: Clock, limit: int | None, one_active: bool, expected: set[int]
) -> None:
    eligibility: dict[str, Any] = {"one_active_voucher": one_active}
    if limit is not None:
        eligibility["max_vouchers_per_year"] = limit
    spec = PersonSpec(
        date(1990, 5, 5), "140105", frozenset({TargetGroup.UNEMPLOYED}), CardStatus.ACTIVE, None
    )
    scenario = Scenario(
        today=date(2027, 3, 1),
        people=[spec] * len(HISTORIES),
        prior=[
            Prior(holder, scheme, when, revoked)
            for holder, history in enumerate(HISTORIES)
            for scheme, when, revoked in history
        ],
        scheme={
            "code": "TARGET",
            "region": "140100",
            "type": "individual",
            "issuance": "push",
            "eligibility": eligibility,
        },
        enterprise=None,
    )
    assert check_paths_agree(ctx, clock, scenario) == expected


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@settings(
    max_examples=12,  # each example builds a PostgreSQL database
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_sql_and_python_paths_select_the_same_people_on_postgres(
    scenario: Scenario,
    fresh_database: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    clock = Clock()
    ctx = make_context(fresh_database(), tmp_path_factory.mktemp("eligibility"), clock)
    try:
        check_paths_agree(ctx, clock, scenario)
    finally:
        ctx.close()
