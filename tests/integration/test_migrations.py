"""The migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from skillvoucher.application.context import AppContext
from skillvoucher.persistence import migrate
from skillvoucher.persistence.tables import Base


def test_upgrade_leaves_no_drift_between_tables_and_database(ctx: AppContext) -> None:
    with ctx.engine.connect() as connection:
        migration = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(migration, Base.metadata)
    assert differences == []


def test_database_is_at_head_and_upgrade_is_idempotent(ctx: AppContext) -> None:
    head = migrate.head_revision()
    assert head is not None
    assert migrate.current_revision(ctx.engine) == head
    migrate.upgrade(ctx.engine)  # nothing to do, and nothing breaks
    migrate.require_current(ctx.engine)
    with ctx.engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
    assert set(Base.metadata.tables) | {"alembic_version"} == tables
