"""Folding the statistics tallies: the triggers add a few rows of differences per change, and
folding sums them into one row per key, so that reading a figure stays a sum over few rows.

Folding changes no figure (each key's sums are the same before and after), so it is safe to run
at any moment, from any process, as often as wanted: `skillvoucher fold-tallies` from a timer
every minute, and at the end of bulk jobs.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from skillvoucher.persistence import tally_sql

TALLY_TABLES = ("voucher_tallies", "ledger_tallies")


def fold(session: Session) -> dict[str, tuple[int, int]]:
    """Fold every tally table; the number of rows of each (before, after)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    counts: dict[str, tuple[int, int]] = {}
    for table in TALLY_TABLES:
        before = _count(session, table)
        if postgres:
            session.execute(sa.text(tally_sql.postgres_compaction(table)))
        else:
            last_id = session.execute(sa.text(f"SELECT MAX(id) FROM {table}")).scalar()  # noqa: S608
            if last_id is not None:
                for statement in tally_sql.sqlite_compaction(table):
                    session.execute(sa.text(statement), {"last_id": last_id})
        counts[table] = (before, _count(session, table))
    return counts


def reclaim(engine: Engine) -> None:
    """Give back the space of the folded rows on PostgreSQL (VACUUM cannot run inside a
    transaction, so not in ``fold``): otherwise every read scans the dead rows until autovacuum
    comes by, and fresh planner statistics keep the reads on the dimension index."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(TALLY_TABLES)}")


def _count(session: Session, table: str) -> int:
    return int(session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608
