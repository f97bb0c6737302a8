"""Databases for integration tests: a migrated SQLite template copied per test, and a throwaway
PostgreSQL database migrated once per session and truncated per test."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from hypothesis import settings
from sqlalchemy.engine import URL, make_url

from builders import Clock, make_context
from skillvoucher.api.app import create_app
from skillvoucher.application import staff_accounts
from skillvoucher.application.context import AppContext
from skillvoucher.application.regions_import import load_builtin_regions
from skillvoucher.config import normalise_database_url
from skillvoucher.persistence import migrate
from skillvoucher.persistence.tables import Base

# In CI every property and fuzz test draws the same examples on every run: a red CI must be
# reproducible, and exploring new examples is what local runs are for.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Tables whose content a migration (or load_builtin_regions) provides; never truncated.
KEPT_TABLES = frozenset({"regions", "alembic_version"})
SQLITE_FILE = "skillvoucher.db"


def _migrate_and_load_regions(url: str, directory: Path) -> None:
    ctx = make_context(url, directory, Clock())
    try:
        migrate.upgrade(ctx.engine)
        load_builtin_regions(ctx)
    finally:
        ctx.close()


# --- SQLite ------------------------------------------------------------------------------------


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.as_posix()}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database with the shipped regions, made once and copied per test."""
    directory = tmp_path_factory.mktemp("sqlite-template")
    path = directory / SQLITE_FILE
    _migrate_and_load_regions(sqlite_url(path), directory)
    # The last connection to close checkpoints the WAL, so the main file is complete.
    for leftover in ("-wal", "-shm"):
        assert not path.with_name(path.name + leftover).exists(), "template WAL not checkpointed"
    return path


def copy_sqlite_template(template: Path, directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / SQLITE_FILE
    shutil.copyfile(template, target)
    return sqlite_url(target)


# --- PostgreSQL --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresDatabase:
    url: str
    reset: Callable[[], None]
    """Empties every table except regions and alembic_version."""


def _postgres_base_url() -> URL:
    raw = os.environ.get("SKILLVOUCHER_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    return make_url(normalise_database_url(raw))


@pytest.fixture(scope="session")
def postgres_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresDatabase]:
    """A throwaway database ``skillvoucher_test_<hex>`` for this session, dropped at the end.

    Skips the PostgreSQL tests when the server cannot be reached, except under ``CI=true``,
    where an unreachable server is a failure: CI must never pass by skipping them.
    """
    base = _postgres_base_url()
    name = f"skillvoucher_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(
        base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )
    where = base.render_as_string(hide_password=True)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as error:
        admin.dispose()
        reason = f"PostgreSQL at {where} is unreachable: {str(error).splitlines()[0]}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the PostgreSQL tests may not be skipped)")
        pytest.skip(reason)
    url = base.set(database=name).render_as_string(hide_password=False)
    engine: sa.Engine | None = None
    try:
        _migrate_and_load_regions(url, tmp_path_factory.mktemp("postgres-setup"))
        engine = sa.create_engine(url)
        tables = [t.name for t in Base.metadata.sorted_tables if t.name not in KEPT_TABLES]
        truncate = f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"

        def reset() -> None:
            assert engine is not None
            with engine.begin() as connection:
                connection.exec_driver_sql(truncate)

        yield PostgresDatabase(url, reset)
    finally:
        if engine is not None:
            engine.dispose()
        with admin.connect() as connection:
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


# --- Per test ----------------------------------------------------------------------------------

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def _fresh_url(request: pytest.FixtureRequest, backend: str, directory: Path) -> str:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        return copy_sqlite_template(template, directory)
    if backend == "postgresql":
        database: PostgresDatabase = request.getfixturevalue("postgres_database")
        database.reset()
        return database.url
    raise ValueError(f"unknown backend {backend!r}")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database holding only the shipped regions, fresh for this test."""
    backend: str = request.param
    return _fresh_url(request, backend, tmp_path / "db")


@pytest.fixture
def sqlite_database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh migrated SQLite database, for tests that run on SQLite alone (the browser)."""
    return copy_sqlite_template(sqlite_template, tmp_path / "db")


@pytest.fixture
def fresh_database(
    request: pytest.FixtureRequest, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], str]:
    """Another fresh database of the same backend, per call (one per Hypothesis example).

    On PostgreSQL this empties the test's own database too: use one at a time.
    """
    backend = make_url(database_url).get_backend_name()

    def fresh() -> str:
        return _fresh_url(request, backend, tmp_path_factory.mktemp("db"))

    return fresh


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ctx(database_url: str, tmp_path: Path, clock: Clock) -> Iterator[AppContext]:
    context = make_context(database_url, tmp_path, clock)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def client(ctx: AppContext) -> Iterator[TestClient]:
    """An HTTP client for the app over the test's context (either database)."""
    with TestClient(create_app(ctx)) as test_client:
        yield test_client


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """argon2 at production cost takes about 0.1 s a hash and the API tests sign hundreds of
    staff in. The cost is a parameter, not behaviour; the subprocess tests of `serve` still
    run the production hasher."""
    production = staff_accounts.password_hasher
    staff_accounts.password_hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    staff_accounts.password_hasher = production
