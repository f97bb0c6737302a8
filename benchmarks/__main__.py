"""python -m benchmarks [SCENARIO] [--size N] [--quick] [--database-url URL] …

Runs every scenario (or the one named) on a benchmark database it creates and drops, prints a
table of figures and ratios to the same-run baseline for each, and exits 1 when a correctness
check fails (goals not met are reported, not failures) or 2 when the time limit is reached.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import time
from types import FrameType

from rich.console import Console

from benchmarks.database import DEFAULT_URL
from benchmarks.plan import Plan
from benchmarks.runner import SCENARIOS, run_scenarios
from benchmarks.table import print_outcome


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("scenario", nargs="?", choices=("all", *SCENARIOS), default="all")
    parser.add_argument("--size", type=int, default=1_000_000, help="people in the registry")
    parser.add_argument("--vouchers", type=int, help="vouchers for statistics (default: --size)")
    parser.add_argument(
        "--quick", action="store_true", help="CI size (2,000 people, 3,000 vouchers)"
    )
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL or SQLite")
    parser.add_argument("--keep", action="store_true", help="keep the database for --reuse")
    parser.add_argument("--reuse", action="store_true", help="use a database kept by --keep")
    parser.add_argument("--workers", type=int, default=1, help="registry builder processes")
    parser.add_argument("--time-limit", type=int, help="seconds for the whole run")
    http = parser.add_argument_group("enrolment_http and claim_rush (goals 4 and 5)")
    http.add_argument("--enrolments", type=int, help="vouchers enrolled (default 3,000)")
    http.add_argument("--enrol-clients", type=int, help="concurrent clients (default 32)")
    http.add_argument("--quota", type=int, help="claim scheme quota (default 2,000; goal 20,000)")
    http.add_argument("--claims", type=int, help="claim requests (default 10,000; goal 100,000)")
    http.add_argument("--claim-clients", type=int, help="concurrent clients (default 64)")
    http.add_argument(
        "--claim-rounds", type=int, help="rounds of the claim rush's SQL comparison (default 1)"
    )
    http.add_argument(
        "--claims-sql-only",
        dest="claims_over_http",
        action="store_false",
        default=None,
        help="claim_rush: only the SQL comparison (gate against the hot row), no HTTP",
    )
    return parser


def _with_http_sizes(plan: Plan, args: argparse.Namespace) -> Plan:
    sizes = (
        "enrolments",
        "enrol_clients",
        "quota",
        "claims",
        "claim_clients",
        "claim_rounds",
        "claims_over_http",
    )
    given = {name: getattr(args, name) for name in sizes if getattr(args, name) is not None}
    return dataclasses.replace(plan, **given)


class TimeLimitReached(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise TimeLimitReached


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    plan = Plan.quick() if args.quick else Plan.full(args.size, args.vouchers)
    plan = _with_http_sizes(plan, args)
    names = SCENARIOS if args.scenario == "all" else (args.scenario,)
    console = Console()
    if not console.is_terminal:
        console = Console(width=140)  # logs and CI: wide enough for one row a line
    limit = args.time_limit or plan.time_limit
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(limit)
    started = time.perf_counter()
    try:
        outcomes = run_scenarios(
            names, plan, args.database_url, keep=args.keep, reuse=args.reuse, workers=args.workers
        )
    except TimeLimitReached:
        console.print(f"[red]time limit of {limit} s reached[/red]")
        return 2
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    for outcome in outcomes:
        print_outcome(console, outcome)
    failed = [o.scenario for o in outcomes if not o.correct]
    console.print(
        f"{len(outcomes)} scenarios in {time.perf_counter() - started:.1f} s; "
        + (f"[red]correctness FAILED in {', '.join(failed)}[/red]" if failed else "all checks held")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
