"""Region scoping as one statement builder: every repository that serves a principal narrows its
queries here, so that a city administrator cannot see another city's rows by a forgotten filter.
"""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa

from skillvoucher.domain.access import Scope

Statement = TypeVar("Statement", bound=sa.Select[Any])


def within_scope(
    statement: Statement,
    scope: Scope,
    *,
    region: Any,
    person: Any = None,
    institution: Any = None,
    employer: Any = None,
) -> Statement:
    """``statement`` narrowed to the rows ``scope`` may see.

    ``region`` is the row's region-code column; ``person``, ``institution`` and ``employer`` are
    the columns that tie the row to a worker, an institution or an employer, where it has them.
    A scope narrowed to a person, institution or employer that the row cannot be tied to sees
    nothing of it: narrowing never fails open.
    """
    if scope.region_prefix:
        statement = statement.where(region.startswith(scope.region_prefix, autoescape=True))
    for narrowed_to, column in (
        (scope.person_id, person),
        (scope.institution_id, institution),
        (scope.employer_credit_code, employer),
    ):
        if narrowed_to is None:
            continue
        statement = statement.where(sa.false() if column is None else column == narrowed_to)
    return statement
