"""Alembic environment: runs with the connection handed over by persistence/migrate.py."""

from __future__ import annotations

from alembic import context

from skillvoucher.persistence.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `skillvoucher db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
