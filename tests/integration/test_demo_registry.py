"""The demo's registry loader stores exactly what `import people` stores from its file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from random import Random

import sqlalchemy as sa

from skillvoucher.application.context import AppContext
from skillvoucher.application.registry_import import import_people
from skillvoucher.demo.registry import load_people
from skillvoucher.demo.synthetic import generate_people
from skillvoucher.persistence.tables import AuditEvent, Person

CITIES = ["140100", "140200"]


def test_the_demo_registry_is_what_the_import_would_store(ctx: AppContext, tmp_path: Path) -> None:
    people = list(generate_people(Random(7), 300, CITIES, [], date(2026, 3, 1)))
    path = tmp_path / "people.csv"
    progress: list[int] = []

    assert load_people(ctx, people, path, progress.append) == 300

    assert progress[-1] == 300
    with ctx.unit_of_work() as uow:
        assert uow.session.scalar(sa.select(sa.func.count()).select_from(Person)) == 300
        events = uow.session.scalars(
            sa.select(AuditEvent.payload).where(AuditEvent.action == "registry.people_imported")
        )
        assert sum(e["rows"] for e in events) == 300
    # The file holds the same people, and importing it finds every one stored as the import
    # would have stored it: same digest of the ID, same content digest, nothing to change.
    again = import_people(ctx, path)
    assert (again.inserted, again.updated, again.unchanged, again.problems) == (0, 0, 300, [])
    with ctx.unit_of_work() as uow:
        stored = uow.people.by_digest(ctx.digest(people[0].resident_id))
        assert stored is not None
        assert stored.name == people[0].name
        assert stored.household_region == people[0].household_region
