"""Run scenarios on one benchmark database, generating the registry (and vouchers) once."""

from __future__ import annotations

from benchmarks import (
    bulk_issuance,
    eligibility_preview,
    offline_verification,
    statistics_at_size,
)
from benchmarks.database import bench_context
from benchmarks.http_runner import HTTP_SCENARIOS, run_http_scenarios
from benchmarks.outcome import Check, Figure, Outcome
from benchmarks.plan import Plan
from benchmarks.registry import RegistryLoad, load_registry, people_count
from benchmarks.voucher_fixture import VoucherLoad, load_vouchers

SCENARIOS = ("registry", "preview", "verification", "statistics", "issuance", *HTTP_SCENARIOS)


def _registry_outcome(load: RegistryLoad, found: int, backend: str) -> Outcome:
    outcome = Outcome("registry", f"Registry generator, {load.people:,} people", backend)
    if load.reused:
        outcome.figures.append(Figure("people reused from a kept database", load.people, "people"))
    else:
        outcome.figures += [
            Figure("people written", load.people, "people"),
            Figure("rows per second (generate, build as the import does, COPY)",
                   load.rows_per_second, "rows/s"),
            Figure("worker processes", load.workers, ""),
        ]  # fmt: skip
    outcome.seconds = load.seconds
    outcome.checks.append(Check("people in the table", found == load.people, f"{found:,}"))
    return outcome


def _with_fixture(outcome: Outcome, load: VoucherLoad) -> Outcome:
    if load.seconds:
        outcome.figures.insert(0, Figure("vouchers written (fixture)", load.vouchers, "vouchers"))
        outcome.figures.insert(1, Figure("ledger entries written", load.ledger_entries, "rows"))
        outcome.figures.insert(
            2, Figure("fixture rows per second", (load.vouchers + load.ledger_entries)
                      / load.seconds, "rows/s")
        )  # fmt: skip
    return outcome


def run_scenarios(
    names: tuple[str, ...],
    plan: Plan,
    database_url: str,
    *,
    keep: bool = False,
    reuse: bool = False,
    workers: int = 1,
) -> list[Outcome]:
    outcomes = []
    if "verification" in names:
        outcomes.append(offline_verification.run(plan.verify_seconds, plan.verify_rounds))
    if not {"registry", "preview", "statistics", "issuance"} & set(names):
        return outcomes + run_http_scenarios(names, plan, database_url)
    with bench_context(database_url, keep=keep, reuse=reuse) as ctx:
        backend = ctx.engine.dialect.name
        load = load_registry(ctx, plan.people, workers=workers)
        outcomes.append(_registry_outcome(load, people_count(ctx), backend))
        # Statistics first: its vouchers then give the preview the voucher history (limits
        # per year, one open voucher) of a campaign under way, for its timing and its checks.
        if "statistics" in names:
            vouchers = load_vouchers(
                ctx, plan.vouchers, institutions_per_city=plan.institutions_per_city
            )
            outcome = statistics_at_size.run(ctx, plan.vouchers, repeats=plan.repeats)
            outcomes.append(_with_fixture(outcome, vouchers))
        if "preview" in names:
            outcomes.append(
                eligibility_preview.run(
                    ctx, plan.people, repeats=plan.repeats, sample_size=plan.sample
                )
            )
        # Last: its vouchers (one per eligible person) would change what the others measure.
        if "issuance" in names:
            outcomes.append(bulk_issuance.run(ctx, plan.people))
    return outcomes + run_http_scenarios(names, plan, database_url)
