"""Statistics and the live status of a verified voucher come from a PostgreSQL streaming
replica when ``SKILLVOUCHER_READ_DATABASE_URL`` names one, and give the primary's figures once
it has caught up.

The replica is real: a second cluster, made with ``pg_basebackup -R`` from a throwaway primary
(tests/pg_cluster.py). Pausing its replay shows that the reads really go there, and what a
moment of replication lag looks like to each reader.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from builders import Clock, enrol, issue, make_context, training_world
from pg_cluster import ReplicatedClusters, replicated_clusters, unavailable_reason, wait_for_replay
from skillvoucher.application.context import AppContext
from skillvoucher.application.regions_import import load_builtin_regions
from skillvoucher.application.statistics import compute_statistics
from skillvoucher.application.verification import verify_code
from skillvoucher.config import Settings
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence import migrate

if TYPE_CHECKING:
    from conftest import PostgresDatabase

pytestmark = pytest.mark.postgres

DATABASE = "skillvoucher"


@pytest.fixture(scope="module")
def clusters() -> Iterator[ReplicatedClusters]:
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the replica test may not be skipped)")
        pytest.skip(reason)
    with replicated_clusters() as made:
        admin = sa.create_engine(made.primary_url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {DATABASE}")
        admin.dispose()
        yield made


def _reading_context(clusters: ReplicatedClusters, directory: Path, clock: Clock) -> AppContext:
    """The app as a deployment with a replica runs it: writes to the primary, the reads that
    may lag to the replica. Same key folder as the writer's."""
    settings = Settings(
        data_dir=directory,
        database_url=clusters.primary_url(DATABASE),
        read_database_url=clusters.replica_url(DATABASE),
        key_dir=directory / "keys",
    )
    ctx = AppContext.from_settings(settings)
    ctx.clock = clock
    return ctx


def test_statistics_and_verification_read_the_replica(
    clusters: ReplicatedClusters, tmp_path: Path, clock: Clock
) -> None:
    writer = make_context(clusters.primary_url(DATABASE), tmp_path, clock)
    reader = _reading_context(clusters, tmp_path, clock)
    replica_admin = sa.create_engine(clusters.replica_url(DATABASE), isolation_level="AUTOCOMMIT")
    try:
        migrate.upgrade(writer.engine)
        load_builtin_regions(writer)
        world = training_world(writer, people=4)
        first, second, third = (issue(writer, world.scheme.code, p) for p in world.people[:3])
        enrol(writer, first.voucher_id, world.institution)
        assert reader.read_engine is not None
        wait_for_replay(writer.engine, reader.read_engine)

        # The read unit of work is on the replica, and it cannot write.
        with reader.read_unit_of_work() as uow:
            where = uow.session.execute(
                sa.text("SELECT inet_server_port(), pg_is_in_recovery()")
            ).one()
            assert tuple(where) == (clusters.replica_port, True)
            with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
                uow.session.execute(sa.text("UPDATE vouchers SET status = status"))

        caught_up = compute_statistics(reader).as_json()
        assert caught_up == compute_statistics(writer).as_json()
        assert (caught_up["vouchers_issued"], caught_up["vouchers_used"]) == (3, 1)
        assert verify_code(reader, first.credential).status is VoucherStatus.ENROLLED

        # Replay paused: the primary moves on, the replica's readers see the moment before.
        with replica_admin.connect() as connection:
            connection.exec_driver_sql("SELECT pg_wal_replay_pause()")
        enrol(writer, second.voucher_id, world.institution)
        late = issue(writer, world.scheme.code, world.people[3])

        assert compute_statistics(reader).as_json() == caught_up
        moved_on = compute_statistics(writer).as_json()
        assert (moved_on["vouchers_issued"], moved_on["vouchers_used"]) == (4, 2)
        # A status a moment old: enrolling re-checks it on the primary, so nothing can go wrong.
        assert verify_code(reader, second.credential).status is VoucherStatus.ISSUED
        assert verify_code(writer, second.credential).status is VoucherStatus.ENROLLED
        # A voucher the replica has not seen yet is asked of the primary, not called foreign.
        assert verify_code(reader, late.credential).status is VoucherStatus.ISSUED
        assert verify_code(reader, third.credential).status is VoucherStatus.ISSUED

        with replica_admin.connect() as connection:
            connection.exec_driver_sql("SELECT pg_wal_replay_resume()")
        wait_for_replay(writer.engine, reader.read_engine)
        assert compute_statistics(reader).as_json() == moved_on
        assert verify_code(reader, second.credential).status is VoucherStatus.ENROLLED
    finally:
        replica_admin.dispose()
        reader.close()
        writer.close()


def test_the_read_engine_refuses_writes_even_on_a_primary(
    postgres_database: PostgresDatabase, tmp_path: Path
) -> None:
    """Pointed at the primary by mistake, the read engine still opens READ ONLY transactions."""
    url = postgres_database.url
    settings = Settings(
        data_dir=tmp_path, database_url=url, read_database_url=url, key_dir=tmp_path / "keys"
    )
    ctx = AppContext.from_settings(settings)
    try:
        with (
            ctx.read_unit_of_work() as uow,
            pytest.raises(sa.exc.DBAPIError, match="read-only transaction"),
        ):
            uow.session.execute(sa.text("UPDATE regions SET name = name"))
        with ctx.unit_of_work() as uow:
            uow.session.execute(sa.text("UPDATE regions SET name = name"))  # the primary writes
    finally:
        ctx.close()


def test_without_a_replica_reads_use_the_primary(database_url: str, tmp_path: Path) -> None:
    ctx = make_context(database_url, tmp_path, Clock())
    try:
        assert ctx.read_engine is None
        with ctx.read_unit_of_work() as uow:
            assert uow.session.get_bind() is ctx.engine
    finally:
        ctx.close()
