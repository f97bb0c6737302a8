"""Run the HTTP scenarios (goals 4 and 5), each on an empty database of its own."""

from __future__ import annotations

from benchmarks import claim_rush, enrolment_http
from benchmarks.database import bench_context
from benchmarks.http_stage import HTTP_SCENARIOS, http_database_url
from benchmarks.outcome import Outcome
from benchmarks.plan import Plan

__all__ = ["HTTP_SCENARIOS", "run_http_scenarios"]


def run_http_scenarios(names: tuple[str, ...], plan: Plan, database_url: str) -> list[Outcome]:
    outcomes = []
    if "enrolment_http" in names:
        with bench_context(http_database_url(database_url)) as ctx:
            outcomes.append(enrolment_http.run(ctx, plan.enrolments, plan.enrol_clients))
    if "claim_rush" in names:
        with bench_context(http_database_url(database_url)) as ctx:
            outcomes.append(
                claim_rush.run(
                    ctx,
                    plan.quota,
                    plan.claims,
                    plan.claim_clients,
                    rounds=plan.claim_rounds,
                    over_http=plan.claims_over_http,
                )
            )
    return outcomes
