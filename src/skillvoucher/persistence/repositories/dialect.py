"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def upsert_insert(session: Session, table: Any) -> Any:
    """An INSERT that supports ``on_conflict_do_nothing``/``do_update`` on either database."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def plain_update(table: Any) -> Any:
    """An UPDATE that does not walk the session's identity map to synchronise objects.

    The ORM's default does, once per statement: with thousands of loaded rows in a bulk job
    that turns linear work quadratic. Repositories re-read what they need, so nothing is lost.
    """
    return sa.update(table).execution_options(synchronize_session=False)
