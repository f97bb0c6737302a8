"""src must run warning-free on the SQLAlchemy versions pyproject allows (>= 2.1)."""

from __future__ import annotations

import warnings

from sqlalchemy.exc import SADeprecationWarning

from builders import import_people, person
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems


def test_use_cases_emit_no_sqlalchemy_deprecation_warnings(ctx: AppContext) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SADeprecationWarning)
        import_people(ctx, [person()])
        assert ledger_problems(ctx) == []
