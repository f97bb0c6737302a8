"""Load without loss, measured: a first-come claim campaign and its enrolments over HTTP.

    .venv/bin/python benchmarks/load_claims_and_enrolments.py [--database-url URL]
        [--quota Q] [--claimants N] [--workers N]

Sets up a throwaway database (a temporary SQLite file; or, given the URL of a PostgreSQL
maintenance database such as postgresql://postgres@127.0.0.1:5432/test, a new database it
creates there and drops afterwards), serves the app with uvicorn on a free loopback port, and
runs tests/load_scenario.py: every claimant claims at once, each winner asks for a consent code
and enrols twice at once. Claimants are signed in with ``start_worker_session`` (what the e-SSC
callback calls), so no e-SSC round-trip is measured. Prints the status histogram, latencies,
throughput, the same claims issued one by one in-process as the baseline, and every invariant;
exits 1 when one does not hold.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

# The scenario sets its stage with the tests' builders, so it lives beside them.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from builders import Clock, make_context
from load_scenario import LoadPlan, LoadReport, run_load
from skillvoucher.application.regions_import import load_builtin_regions
from skillvoucher.config import normalise_database_url
from skillvoucher.persistence import migrate

PHASES = ("claim", "consent", "enrol")


@contextmanager
def throwaway_database(maintenance_url: str | None, directory: Path) -> Iterator[str]:
    """The URL of an empty database that is gone when the block ends."""
    if maintenance_url is None:
        yield f"sqlite:///{(directory / 'load.db').as_posix()}"
        return
    base = make_url(normalise_database_url(maintenance_url))
    if base.get_backend_name() != "postgresql":
        raise SystemExit("--database-url must name a PostgreSQL maintenance database")
    name = f"skillvoucher_load_{secrets.token_hex(6)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        admin.dispose()


def print_report(report: LoadReport, backend: str) -> None:
    plan = report.plan
    print(
        f"backend {backend}: quota {plan.quota}, {plan.claimants} claimants, "
        f"{plan.workers} client threads"
    )
    print(f"requests sent: {len(report.replies)}")
    for phase in (*PHASES, None):
        print(
            f"  {phase or 'all':8} p50 {report.latency(0.5, phase) * 1000:7.1f} ms"
            f"   p95 {report.latency(0.95, phase) * 1000:7.1f} ms"
            f"   {report.throughput(phase):7.1f} req/s"
        )
        for (status, code), count in sorted(report.outcomes(phase).items(), key=str):
            print(f"             {status} {code or '':20} ×{count}")
    print(
        f"baseline, the same {plan.claimants} claims in-process one by one: "
        f"{report.baseline_throughput:.1f} claims/s"
    )
    ratio = report.throughput("claim") / report.baseline_throughput
    print(f"claims, HTTP concurrent vs in-process sequential: {ratio:.2f}×")
    for name, failures in report.checks.items():
        print(f"  {'ok  ' if not failures else 'FAIL'} {name}")
        for failure in failures[:10]:
            print(f"         {failure}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", help="a PostgreSQL maintenance database (default: SQLite)"
    )
    parser.add_argument("--quota", type=int, default=200, help="vouchers in the campaign")
    parser.add_argument("--claimants", type=int, help="eligible people claiming (default 3×quota)")
    parser.add_argument("--workers", type=int, default=32, help="concurrent client threads")
    args = parser.parse_args()
    plan = LoadPlan(args.quota, args.claimants or 3 * args.quota, args.workers)
    if plan.claimants < plan.quota:
        parser.error("--claimants must be at least --quota: the campaign must run out")
    with (
        tempfile.TemporaryDirectory(prefix="skillvoucher-load-") as scratch,
        throwaway_database(args.database_url, Path(scratch)) as url,
    ):
        ctx = make_context(url, Path(scratch), Clock())
        try:
            migrate.upgrade(ctx.engine)
            load_builtin_regions(ctx)
            report = run_load(ctx, plan)
        finally:
            ctx.close()
    print_report(report, make_url(url).get_backend_name())
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
