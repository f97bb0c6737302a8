"""The demo's registry loader stores exactly what `import people` stores from its file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from random import Random

import pytest
import sqlalchemy as sa

from skillvoucher.application.context import AppContext
from skillvoucher.application.registry_import import import_people
from skillvoucher.demo import registry
from skillvoucher.demo.registry import Applicants, RegistryPlan, load_registry
from skillvoucher.demo.synthetic import generate_credit_code
from skillvoucher.persistence.tables import AuditEvent, Person

CITIES = ["140100", "140200", "140300"]


def plan(count: int, seed: int = 7) -> RegistryPlan:
    rng = Random(1)
    employers = [generate_credit_code(rng, city) for city in CITIES for _ in range(5)]
    return RegistryPlan(count, CITIES, employers, date(2026, 3, 1), seed, claimants=20, roster=4)


def stored_people(ctx: AppContext) -> int:
    with ctx.unit_of_work() as uow:
        return int(uow.session.scalar(sa.select(sa.func.count()).select_from(Person)) or 0)


def test_the_demo_registry_is_what_the_import_would_store(ctx: AppContext, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    progress: list[int] = []

    applicants = load_registry(ctx, plan(300), path, progress.append)

    assert progress[-1] == 300 == stored_people(ctx)
    with ctx.unit_of_work() as uow:
        events = uow.session.scalars(
            sa.select(AuditEvent.payload).where(AuditEvent.action == "registry.people_imported")
        )
        assert sum(e["rows"] for e in events) == 300
    # The file holds the same people, and importing it finds every one stored as the import
    # would have stored it: same digest of the ID, same content digest, nothing to change.
    again = import_people(ctx, path)
    assert (again.inserted, again.updated, again.unchanged, again.problems) == (0, 0, 300, [])
    # The applicants noted are people of the registry, within the plan's limits.
    assert 0 < len(applicants.graduates) <= 20
    assert all(p.household_region == "140100" for p in applicants.graduates)
    assert applicants.employees
    assert all(0 < len(roster) <= 4 for roster in applicants.employees.values())
    with ctx.unit_of_work() as uow:
        for person in [*applicants.graduates, *next(iter(applicants.employees.values()))]:
            stored = uow.people.by_digest(ctx.digest(person.resident_id))
            assert stored is not None
            assert stored.name == person.name


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_worker_processes_make_the_same_registry_the_import_would_store(
    ctx: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two worker processes, each for its own cities: every person once, the file and the table
    agree, the applicants of both are merged within the limits, and a seed makes the same
    people again."""
    monkeypatch.setattr(registry, "_PARALLEL_FROM", 1)
    monkeypatch.setattr(registry, "_CHUNK", 700)  # several chunks from each worker
    path = tmp_path / "people.csv"

    applicants = load_registry(ctx, plan(3000), path)

    assert stored_people(ctx) == 3000
    again = import_people(ctx, path)
    assert (again.inserted, again.updated, again.unchanged, again.problems) == (0, 0, 3000, [])
    assert len(applicants.graduates) == 20
    assert [len(roster) for roster in applicants.employees.values()] == [4] * 15

    shares = plan(3000).shares(2)
    assert [s.cities for s in shares] == [["140100", "140300"], ["140200"]]
    assert sum(s.count for s in shares) == 3000
    first = [p.resident_id for s in shares for p in s.people()]
    assert first == [p.resident_id for s in plan(3000).shares(2) for p in s.people()]
    assert len(set(first)) == 3000


def test_applicants_merge_in_order_within_the_limits() -> None:
    ours, theirs = Applicants(claimants=3, roster=2), Applicants(claimants=3, roster=2)
    people = [p for s in plan(400).shares(2) for p in s.people()]
    for person in people[:200]:
        ours.note(person)
    for person in people[200:]:
        theirs.note(person)
    graduates = [*ours.graduates, *theirs.graduates]
    rosters = {
        e: [*ours.employees[e], *theirs.employees[e]] for e in {*ours.employees, *theirs.employees}
    }

    ours.add(theirs)

    assert ours.graduates == graduates[:3]
    assert {e: r for e, r in ours.employees.items() if r} == {e: r[:2] for e, r in rosters.items()}
