"""The benchmark harness (benchmarks/) at its quick size, so CI runs it end to end: every
scenario runs on PostgreSQL and its correctness checks hold. Figures are not asserted: the
goals are judged by hand at full size (docs/performance.md)."""

from __future__ import annotations

import secrets
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.__main__ import main
from benchmarks.database import bench_context
from benchmarks.http_runner import HTTP_SCENARIOS
from benchmarks.plan import Plan
from benchmarks.registry import load_registry, people_count, synthetic_people
from benchmarks.runner import SCENARIOS, run_scenarios

from skillvoucher.application.registry_import import import_people
from skillvoucher.demo.files import write_people


@pytest.fixture
def bench_url(postgres_database: Any) -> str:
    """A benchmark database URL on the tests' server (the harness creates and drops it);
    ``postgres_database`` brings the skip, or the CI failure, when the server is away."""
    name = f"skillvoucher_bench_test_{secrets.token_hex(4)}"
    return make_url(postgres_database.url).set(database=name).render_as_string(hide_password=False)


@pytest.mark.postgres
def test_every_scenario_runs_quick_and_holds(bench_url: str) -> None:
    outcomes = run_scenarios(SCENARIOS, Plan.quick(), bench_url)

    assert [o.scenario for o in outcomes] == [
        "verification",
        "registry",
        "statistics",
        "preview",
        "issuance",
        "enrolment_http",
        "claim_rush",
    ]
    for outcome in outcomes:
        assert outcome.checks, outcome.scenario
        assert outcome.correct, [c for c in outcome.checks if not c.passed]
    for outcome in outcomes[2:] + outcomes[:1]:
        assert outcome.comparisons, outcome.scenario
        assert all(c.ratio > 0 for c in outcome.comparisons)


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_bulk_issuance_quick_issues_everyone_eligible_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The issuance scenario alone on a few hundred people: the real push, its baseline of the
    same rows, and its checks (issued = eligible = quota used, no duplicate, ledger sound)."""
    if backend == "sqlite":
        url = f"sqlite:///{(tmp_path / 'skillvoucher_bench.db').as_posix()}"
    else:
        url = request.getfixturevalue("bench_url")

    outcomes = run_scenarios(("issuance",), replace(Plan.quick(), people=400), url)

    assert [o.scenario for o in outcomes] == ["registry", "issuance"]
    issuance = outcomes[1]
    assert issuance.correct, [c for c in issuance.checks if not c.passed]
    figures = {f.label: f.value for f in issuance.figures}
    assert figures["vouchers issued by push_issue"] > 0
    assert issuance.comparisons
    assert all(c.ratio > 0 and c.met is None for c in issuance.comparisons)


@pytest.mark.postgres
def test_http_scenarios_count_every_answer(bench_url: str) -> None:
    """Goals 4 and 5 at a few dozen requests: every enrolment created, exactly the quota
    claimed, every loser told 409 quota_exhausted, both ratios taken against their baselines."""
    plan = replace(Plan.quick(), enrolments=60, enrol_clients=4, quota=20, claims=80)

    enrolments, rush = run_scenarios(HTTP_SCENARIOS, replace(plan, claim_clients=8), bench_url)

    for outcome in (enrolments, rush):
        assert outcome.correct, [c for c in outcome.checks if not c.passed]
        assert all(c.ratio > 0 for c in outcome.comparisons)
    assert len(enrolments.comparisons) == 2  # throughput and p99 against the GET baseline
    # The gate's SQL against hot-row UPDATEs (the goal), the gate without its memory of a full
    # quota, and the HTTP claims against them.
    assert [c.goal for c in rush.comparisons] == [
        ">= 2",
        "(without the memory, no goal)",
        "(end to end, no goal)",
    ]
    counted = {f.label: f.value for f in (*enrolments.figures, *rush.figures)}
    assert counted["enrolments: answered 201"] == 60
    assert counted["baseline reads: answered 200"] == 60
    assert counted["claims: answered 201"] == 20
    assert counted["claims: answered 409 quota_exhausted"] == 60


@pytest.mark.postgres
def test_the_claim_rush_alone_in_sql_runs_its_rounds(bench_url: str) -> None:
    """`claim_rush --claims-sql-only --claim-rounds 2`: the goal's comparison twice, on fresh
    schemes, and nothing over HTTP."""
    plan = replace(
        Plan.quick(), quota=30, claims=90, claim_clients=6, claim_rounds=2, claims_over_http=False
    )

    (rush,) = run_scenarios(("claim_rush",), plan, bench_url)

    assert rush.correct, [c for c in rush.checks if not c.passed]
    assert [c.goal for c in rush.comparisons] == [">= 2", "(without the memory, no goal)"] * 2
    assert sum("granted exactly the quota" in c.label for c in rush.checks) == 6
    assert not any("HTTP" in f.label or "answered" in f.label for f in rush.figures)


@pytest.mark.postgres
def test_command_exits_zero_when_checks_hold(
    bench_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preview", "--quick", "--database-url", bench_url]) == 0
    assert "all checks held" in capsys.readouterr().out


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_generated_registry_is_what_the_import_writes(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Importing the generated people's own registry file afterwards changes nothing: every
    row (keyed ID digest, content digest) is already the one the import would write."""
    if backend == "sqlite":
        url = f"sqlite:///{(tmp_path / 'skillvoucher_bench.db').as_posix()}"
    else:
        url = request.getfixturevalue("bench_url")
    with bench_context(url) as ctx:
        load = load_registry(ctx, 300, seed=7)
        path = tmp_path / "people.csv"
        write_people(path, synthetic_people(300, seed=7))
        report = import_people(ctx, path)

    assert load.people == 300
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 300)
    assert not report.problems


@pytest.mark.postgres
def test_registry_workers_split_the_cities_without_clashing(bench_url: str) -> None:
    with bench_context(bench_url) as ctx:
        load = load_registry(ctx, 300, workers=2)
        assert people_count(ctx) == 300  # ID digests are unique: a clash would have failed

    assert load.workers == 2
