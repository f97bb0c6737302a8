"""Planner statistics kept fresh while the demo fills its tables, when autovacuum does not.

PostgreSQL's autovacuum analyzes a table once a tenth of it has changed. Where it is off (this
project's test servers run without it), a table's statistics are those of its last ANALYZE: for
the tables the demo fills from nothing during a stage (check-ins, settlement lines and batches,
consent codes), statistics of an empty table. Plans made on them scan the whole table for each
lookup, and PostgreSQL keeps the plans of foreign-key checks for the life of a connection: at the
pilot's size, 500,994 scans of `settlement_batches` and 4,469 of `attendance_events` (435 million
rows read) in one run. The keeper does what autovacuum's analyze would: every few seconds it
analyzes the tables past autovacuum's own threshold (50 rows and a tenth of the table changed),
which also makes PostgreSQL plan those statements again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine

_EVERY_SECONDS = 5.0
# autovacuum_analyze_threshold and autovacuum_analyze_scale_factor, PostgreSQL's defaults.
_DUE = (
    "SELECT relname FROM pg_stat_user_tables"
    " WHERE n_mod_since_analyze > 50 + 0.1 * GREATEST(n_live_tup, 0) ORDER BY relname"
)


@contextmanager
def statistics_kept(engine: Engine) -> Iterator[None]:
    """Analyze tables as autovacuum would, in a thread of its own, while the block runs (only on
    PostgreSQL with autovacuum off; otherwise nothing)."""
    if not _needed(engine):
        yield
        return
    stop = threading.Event()
    keeper = threading.Thread(target=_keep, args=(engine, stop), name="statistics", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        stop.set()
        keeper.join()


def _needed(engine: Engine) -> bool:
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as connection:
        return connection.exec_driver_sql("SHOW autovacuum").scalar() == "off"


def _keep(engine: Engine, stop: threading.Event) -> None:
    while not stop.wait(_EVERY_SECONDS):
        analyze_due_tables(engine)


def analyze_due_tables(engine: Engine) -> list[str]:
    """ANALYZE every table past autovacuum's analyze threshold; returns their names."""
    with engine.connect() as connection:
        due = [str(name) for name in connection.exec_driver_sql(_DUE).scalars()]
        for name in due:
            # Names read from the catalogue, quoted as identifiers.
            connection.exec_driver_sql(f'ANALYZE "{name}"')
        connection.commit()
    return due
