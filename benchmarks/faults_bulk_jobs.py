"""Bulk jobs under injected database faults on PostgreSQL: do they finish, and exactly?

    .venv/bin/python benchmarks/faults_bulk_jobs.py [--database-url URL] [--people N]

For each job (push issuance, expiry, settlement run) and each fault plan, sets up a fresh
throwaway database on the PostgreSQL server of URL (a maintenance database such as
postgresql://postgres@127.0.0.1:5432/test; default the tests' server), runs the job in-process
while tests/integration/bulk_faults.py kills its connections (at the Nth INSERT, UPDATE or
COMMIT; all of them at once, as a restart would, then refusing connects for a while), makes
the server refuse a transaction (40001, 40P01), or lets a commit land and then reports its
connection lost ("landed"), and compares the end state with an uninterrupted twin in the
same database. The retry policy runs with its shipped settings
(5 attempts, 0.2 s base backoff). Each job's first row, without faults, is the baseline of the
time column. Prints one table; exits 1 when a row is not ok.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

# The scenarios set their stage with the tests' builders, so they live beside them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))

from bulk_faults import (
    Fault,
    Outcome,
    expiry_with_faults,
    push_with_faults,
    settlement_with_faults,
)

from builders import Clock, make_context
from skillvoucher.application.context import AppContext
from skillvoucher.application.regions_import import load_builtin_regions
from skillvoucher.config import normalise_database_url
from skillvoucher.persistence import migrate

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
Scenario = Callable[[AppContext, Clock, Sequence[Fault]], Outcome]


def plans(people: int) -> list[tuple[Scenario, list[Fault]]]:
    def push(ctx: AppContext, _clock: Clock, faults: Sequence[Fault]) -> Outcome:
        return push_with_faults(ctx, people, faults)

    def expiry(ctx: AppContext, clock: Clock, faults: Sequence[Fault]) -> Outcome:
        return expiry_with_faults(ctx, clock, people // 2, faults)

    return [
        (push, []),
        (push, [Fault("INSERT", 5), Fault("COMMIT", 9), Fault("INSERT", 61), Fault("INSERT", 62)]),
        (push, [Fault("INSERT", 12, "40001"), Fault("UPDATE", 20, "40P01")]),
        (push, [Fault("COMMIT", 4, "landed"), Fault("COMMIT", 20, "landed")]),
        (push, [Fault("INSERT", 30, "kill all", refuse=3)]),
        (expiry, []),
        (expiry, [Fault("UPDATE", 3), Fault("COMMIT", 10), Fault("INSERT", 50, "40001")]),
        (expiry, [Fault("INSERT", 40, "kill all", refuse=3)]),
        (expiry, [Fault("COMMIT", 3, "landed")]),
        (settlement_with_faults, []),
        (
            settlement_with_faults,
            [Fault("INSERT", 2), Fault("COMMIT", 3), Fault("UPDATE", 4, "40P01")],
        ),
        (settlement_with_faults, [Fault("INSERT", 20, "kill all", refuse=3)]),
        (settlement_with_faults, [Fault("COMMIT", 2, "landed")]),
    ]


@contextmanager
def throwaway_database(server: str) -> Iterator[str]:
    """The URL of a new, empty database on ``server``, dropped when the block ends."""
    base = make_url(normalise_database_url(server))
    if base.get_backend_name() != "postgresql":
        raise SystemExit("--database-url must name a PostgreSQL maintenance database")
    name = f"skillvoucher_faults_{secrets.token_hex(6)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


def run(server: str, scenario: Scenario, faults: list[Fault]) -> Outcome:
    with (
        tempfile.TemporaryDirectory(prefix="skillvoucher-faults-") as scratch,
        throwaway_database(server) as url,
    ):
        clock = Clock()
        ctx = make_context(url, Path(scratch), clock)
        try:
            migrate.upgrade(ctx.engine)
            load_builtin_regions(ctx)
            return scenario(ctx, clock, faults)
        finally:
            ctx.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server")
    parser.add_argument("--people", type=int, default=3000, help="pushed to (at most 3000)")
    args = parser.parse_args()
    # psycopg warns of each pipeline its killed connection broke: expected here, and noise.
    logging.getLogger("psycopg").setLevel(logging.ERROR)
    header = (
        f"{'job':15} {'faults injected':74} {'retries':>7} {'expected':>8} {'found':>6} "
        f"{'= twin':>6} {'ledger balanced':>15} {'audit chain ok':>14} {'time':>12}"
    )
    print(header)
    print("-" * len(header))
    failed = False
    baseline: dict[str, float] = {}
    for scenario, faults in plans(args.people):
        outcome = run(args.database_url, scenario, faults)
        base = baseline.setdefault(outcome.job, outcome.seconds)
        shown = "; ".join(map(str, outcome.faults)) or "none (baseline)"
        checks = (outcome.twin_equal, outcome.ledger_balanced, outcome.audit_chain_ok)
        twin, balanced, chain = map(_yes, checks)
        print(
            f"{outcome.job:15} {shown:74} {outcome.retries:>7} {outcome.expected:>8} "
            f"{outcome.found:>6} {twin:>6} {balanced:>15} {chain:>14} "
            f"{outcome.seconds:5.1f} s {outcome.seconds / base:5.1f}×"
        )
        failed |= not outcome.ok or len(outcome.faults) != len(faults)
        failed |= bool(faults) and outcome.retries == 0
    print(
        "expected/found: vouchers issued (push), vouchers expired (expiry), settlement lines "
        "of the run's institutions (settlement); time: the job's run alone, × its baseline"
    )
    return 1 if failed else 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


if __name__ == "__main__":
    sys.exit(main())
