"""The statistics tallies checked against a recount of what they count.

The tallies are kept by triggers in the same statements as the changes they count, so they
cannot drift; this check is the proof, run by `skillvoucher ledger check` (as the ledger's fifth
invariant) and so by every test that checks the ledger. It reads every voucher: it is a check,
not a way to serve figures.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import zip_longest
from typing import Any

from sqlalchemy.orm import Session

from skillvoucher.persistence.read_models import dashboard, dashboard_recount
from skillvoucher.persistence.read_models import statistics as tallied
from skillvoucher.persistence.read_models import statistics_recount as recounted
from skillvoucher.persistence.repositories.ledger import LedgerRepository


def _differences(name: str, kept: object, counted: object) -> list[str]:
    if kept == counted:
        return []
    if isinstance(kept, list) and isinstance(counted, list):
        return [
            f"statistics {name}: tallies say {k}, recount says {c}"
            for k, c in zip_longest(kept, counted)
            if k != c
        ]
    return [f"statistics {name}: tallies say {kept}, recount says {counted}"]


def tally_problems(session: Session) -> list[str]:
    """Every figure the tallies give that a recount from the tables does not give."""
    problems = _differences("totals", tallied.totals(session), recounted.totals(session))
    for dimension in tallied.DIMENSIONS:
        problems += _differences(
            f"by {dimension}",
            tallied.breakdown(session, dimension),
            recounted.breakdown(session, dimension),
        )
    ledger = LedgerRepository(session)
    problems += _differences("ledger balances", tallied.ledger_balances(session), ledger.balances())
    problems += _differences(
        "ledger kind totals", tallied.ledger_kind_totals(session), ledger.kind_totals()
    )
    for year in [None, *sorted({int(m[:4]) for m in dashboard.issue_months(session, "")})]:
        part = dashboard.Slice(issue_year=year)
        problems += _dashboard_differences(session, part)
    return problems


def _dashboard_differences(session: Session, part: dashboard.Slice) -> list[str]:
    name = f"dashboard {part.issue_year or 'all years'}"
    readings: dict[str, Callable[[Any], object]] = {
        "overall": lambda read: read.overall(session, part),
        "monthly": lambda read: read.monthly(session, part),
        "by province": lambda read: read.by_region(session, part, 2),
        "by city": lambda read: read.by_region(session, part, 4),
        "by county": lambda read: read.by_region(session, part, 6),
        "by scheme": lambda read: read.by_scheme(session, part),
        "by target group": lambda read: read.by_target_group(session, part),
        "by institution": lambda read: read.by_institution(session, part, 1000),
    }
    problems: list[str] = []
    for figure, read in readings.items():
        problems += _differences(f"{name} {figure}", read(dashboard), read(dashboard_recount))
    return problems
