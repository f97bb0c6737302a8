"""Which database errors count as a lost connection (and so as "try again")."""

from __future__ import annotations

import sqlite3

import psycopg
import sqlalchemy as sa

from skillvoucher.persistence.database import lost_connection


class _PgError(psycopg.OperationalError):
    def __init__(self, sqlstate: str | None) -> None:
        self._state = sqlstate
        super().__init__("server said no")

    @property
    def sqlstate(self) -> str | None:  # type: ignore[override]
        return self._state


def _operational(orig: BaseException) -> sa.exc.OperationalError:
    return sa.exc.OperationalError("SELECT 1", {}, orig)


def test_a_dropped_or_refused_postgresql_connection_is_lost() -> None:
    assert lost_connection(_operational(_PgError(None)))  # could not connect at all
    assert lost_connection(_operational(_PgError("08006")))  # connection failure
    assert lost_connection(_operational(_PgError("57P01")))  # terminated by administrator


def test_refusals_and_locks_are_not_lost_connections() -> None:
    assert not lost_connection(_operational(_PgError("40001")))  # serialization failure
    assert not lost_connection(_operational(_PgError("55P03")))  # lock not available
    assert not lost_connection(sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not lost_connection(_operational(sqlite3.OperationalError("database is locked")))
    assert not lost_connection(ValueError("nothing to do with the database"))
