"""Engines for SQLite (WAL, foreign keys, one writer at a time) and PostgreSQL, and telling a
lost database connection, or a transient refusal, from other database errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from skillvoucher.domain.errors import DomainError

# PostgreSQL's SQLSTATEs for "the connection is gone": class 08, and the server shutting down or
# starting up (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now).
_LOST_CONNECTION_STATES = ("08", "57P01", "57P02", "57P03")
# serialization_failure and deadlock_detected: PostgreSQL rolled the transaction back only
# because a concurrent one got in its way, and says so to invite running it again.
_TRANSIENT_STATES = ("40001", "40P01")


class DatabaseUnavailable(DomainError):
    """The connection to the database broke (a server restart, a network cut) or cannot be made.
    The transaction it was in rolled back with it, unless the break came during the commit."""

    code = "database_unavailable"


def create_engine_for(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    # pre-ping: a pooled connection that a PostgreSQL restart killed while it sat idle is
    # noticed and replaced before a transaction starts on it, so the restart costs no request.
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def lost_connection(error: BaseException) -> bool:
    """Whether ``error`` means the database connection broke or could not be made, as opposed
    to the database refusing a statement (a constraint, a lock timeout, bad SQL)."""
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    if not isinstance(error, sa.exc.OperationalError) or not hasattr(error.orig, "sqlstate"):
        return False  # SQLite's "database is locked" is not a lost connection
    state = getattr(error.orig, "sqlstate", None)
    # A failed connection attempt carries no SQLSTATE at all.
    return state is None or str(state).startswith(_LOST_CONNECTION_STATES)


def transient(error: BaseException) -> bool:
    """Whether ``error`` is PostgreSQL refusing a transaction only for clashing with another
    (a serialization failure or a deadlock): the same transaction run again can succeed."""
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    return getattr(error.orig, "sqlstate", None) in _TRANSIENT_STATES


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    database = sa.engine.make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction starts (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that reads and then writes
        # fails with SQLITE_BUSY when another writer got in between, and busy_timeout cannot
        # save it. IMMEDIATE makes writers queue instead, which is SQLite's serialisation.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)
