"""Load without loss: a first-come claim campaign over HTTP (three claimants per voucher, all
at once), then every winner's consent and enrolment, each enrolment sent twice at once. The
quota is never oversold, no voucher is enrolled twice, the ledger balances, the audit chain is
intact, and every refusal is a 4xx problem (quota exhausted, already enrolled, rate limited),
never a 5xx. The scenario is tests/load_scenario.py; benchmarks/load_claims_and_enrolments.py
runs it bigger and prints the figures.
"""

from __future__ import annotations

import pytest

from load_scenario import LoadPlan, run_load
from skillvoucher.application.context import AppContext

pytestmark = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)

PLAN = LoadPlan(quota=40, claimants=120, workers=16)


def test_a_claim_campaign_and_its_enrolments_lose_nothing_under_load(ctx: AppContext) -> None:
    report = run_load(ctx, PLAN)

    assert report.problems == []
    claims = report.statuses("claim")
    assert claims == {201: PLAN.quota, 409: PLAN.claimants - PLAN.quota}, claims
    assert report.statuses("consent") == {201: PLAN.quota}
    enrols = report.statuses("enrol")
    assert enrols[201] == PLAN.quota, enrols
    assert sum(enrols.values()) == 2 * PLAN.quota  # every duplicate attempt was answered
    assert all(status < 500 for status in report.statuses())
