"""Schema migrations (Alembic) run from code, so every command shares one way to upgrade."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from skillvoucher.domain.errors import DomainError


class DatabaseNotReady(DomainError):
    code = "database_not_ready"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("skillvoucher.persistence") / "migrations"))
    return config


class MigrationBrokeReferences(DomainError):
    code = "migration_broke_references"


def upgrade(engine: Engine, revision: str = "head") -> None:
    config = alembic_config()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a key by rebuilding the table, and dropping the old one would
            # trip the references to it; its documented procedure switches foreign keys off
            # (outside the transaction: inside it the pragma does nothing) and checks them all
            # before commit.
            _sqlite_pragma(connection, "foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite and (
                    broken := connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                ):
                    raise MigrationBrokeReferences(
                        f"the migration would leave {len(broken)} broken references, the first"
                        f" in table {broken[0][0]}: nothing was changed"
                    )
        finally:
            if sqlite:
                _sqlite_pragma(connection, "foreign_keys=ON")


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    # On the driver's connection, which runs it at once: SQLAlchemy's would begin a transaction.
    connection.connection.driver_connection.execute(f"PRAGMA {pragma}")  # type: ignore[union-attr]


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def require_current(engine: Engine) -> None:
    """Refuse to work on a database that is missing migrations, with the command that fixes it."""
    if current_revision(engine) != head_revision():
        raise DatabaseNotReady(
            "the database schema is not up to date: run `skillvoucher db upgrade` first"
        )


def reset(engine: Engine) -> None:
    """Drop every table and migrate again: only the demo's explicit ``--reset`` does this."""
    from skillvoucher.persistence.tables import Base

    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    upgrade(engine)
