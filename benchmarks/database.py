"""The benchmark database: created and migrated for the run, dropped afterwards.

PostgreSQL is the default. The database named in the URL is dropped at the start and at the
end, so its name must start with ``skillvoucher_bench``: a mistyped URL can never drop real
data. ``keep`` leaves it (and its keys, which the people's ID digests depend on) for a later
run with ``reuse``, so that a 10 M registry is generated once.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from skillvoucher.application.context import AppContext
from skillvoucher.application.regions_import import load_builtin_regions
from skillvoucher.config import Settings, normalise_database_url
from skillvoucher.persistence import migrate

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/skillvoucher_bench"
NAME_PREFIX = "skillvoucher_bench"
# Scenarios run "today" at a fixed moment, so that ages and years match the generated registry.
BENCH_NOW = datetime.fromisoformat("2026-03-02T02:00:00+00:00")


def _data_dir(url: URL) -> Path:
    name = Path(url.database or "bench").stem
    return Path(tempfile.gettempdir()) / "skillvoucher-bench" / f"{url.get_backend_name()}-{name}"


def _admin_engine(url: URL) -> sa.Engine:
    return sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


def _drop_postgres(url: URL) -> None:
    admin = _admin_engine(url)
    try:
        with admin.connect() as connection:
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": url.database},
            )
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}"')
    finally:
        admin.dispose()


def _create_postgres(url: URL) -> None:
    admin = _admin_engine(url)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    finally:
        admin.dispose()


def _drop(url: URL, data_dir: Path) -> None:
    if url.get_backend_name() == "postgresql":
        _drop_postgres(url)
    shutil.rmtree(data_dir, ignore_errors=True)


def checked_url(raw: str) -> URL:
    url = make_url(normalise_database_url(raw))
    backend = url.get_backend_name()
    if backend == "postgresql":
        if not (url.database or "").startswith(NAME_PREFIX):
            raise SystemExit(f"the benchmark database's name must start with {NAME_PREFIX}")
    elif backend == "sqlite":
        if not url.database:
            raise SystemExit("give the SQLite benchmark database a file, sqlite:///path.db")
    else:
        raise SystemExit(f"benchmarks run on PostgreSQL or SQLite, not {backend}")
    return url


@contextmanager
def bench_context(raw_url: str, *, keep: bool = False, reuse: bool = False) -> Iterator[AppContext]:
    """An application context on a migrated benchmark database with the shipped regions."""
    url = checked_url(raw_url)
    data_dir = _data_dir(url)
    if not reuse:
        _drop(url, data_dir)
        if url.get_backend_name() == "sqlite":
            Path(url.database or "").unlink(missing_ok=True)
        else:
            _create_postgres(url)
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        data_dir=data_dir,
        database_url=url.render_as_string(hide_password=False),
        key_dir=data_dir / "keys",
    )
    ctx = AppContext.from_settings(settings)
    ctx.clock = lambda: BENCH_NOW
    ctx.actor = "benchmark"
    try:
        migrate.upgrade(ctx.engine)
        load_builtin_regions(ctx)
        yield ctx
    finally:
        ctx.close()
        if not keep:
            _drop(url, data_dir)
            if url.get_backend_name() == "sqlite":
                Path(url.database or "").unlink(missing_ok=True)
