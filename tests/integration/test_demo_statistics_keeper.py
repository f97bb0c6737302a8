"""The demo keeps planner statistics fresh itself where autovacuum does not."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from builders import import_people, person
from skillvoucher.application.context import AppContext
from skillvoucher.demo.statistics_keeper import analyze_due_tables, statistics_kept


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_tables_past_the_analyze_threshold_are_analyzed_once(ctx: AppContext) -> None:
    import_people(ctx, [person() for _ in range(120)])

    # The server counts the changes a moment after the commit (at most a second later).
    due: list[str] = []
    deadline = time.monotonic() + 10
    while "people" not in due and time.monotonic() < deadline:
        due = analyze_due_tables(ctx.engine)
        time.sleep(0.2)

    assert "people" in due
    with ctx.engine.connect() as connection:
        analyzed = connection.scalar(
            sa.text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'people'")
        )
    assert analyzed is not None
    assert "people" not in analyze_due_tables(ctx.engine)  # nothing changed since


def test_the_keeper_runs_only_where_autovacuum_is_off(ctx: AppContext) -> None:
    threads_before = {t.name for t in threading.enumerate()}
    with statistics_kept(ctx.engine):
        running = {t.name for t in threading.enumerate()} - threads_before
    if ctx.engine.dialect.name == "postgresql":
        with ctx.engine.connect() as connection:
            off = connection.exec_driver_sql("SHOW autovacuum").scalar() == "off"
        assert running == ({"statistics"} if off else set())
    else:
        assert running == set()
