"""A resident ID and a scheme code stay unique in the whole nation once ``people`` and
``schemes`` are keyed by province (decision 19): ``person_directory`` and ``scheme_codes``
hold them, written in the same transactions, and follow a person who moves province."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from builders import PEOPLE_HEADER, Clock, make_scheme, people_row, person, write_csv
from skillvoucher.application.context import AppContext
from skillvoucher.application.registry_import import import_people
from skillvoucher.demo.registry import RegistryPlan, load_registry
from skillvoucher.domain.errors import AlreadyExists
from skillvoucher.domain.people import TargetGroup
from skillvoucher.persistence.repositories.schemes import SchemeRepository
from skillvoucher.persistence.tables import Person, PersonDirectory, Scheme, SchemeCode

HENAN = "410000"


def directory(ctx: AppContext) -> set[tuple[str, str, object]]:
    with ctx.unit_of_work() as uow:
        rows = uow.session.execute(
            sa.select(
                PersonDirectory.id_digest, PersonDirectory.province_code, PersonDirectory.person_id
            )
        )
        return {tuple(r) for r in rows}  # type: ignore[misc]


def people(ctx: AppContext) -> set[tuple[str, str, object]]:
    with ctx.unit_of_work() as uow:
        rows = uow.session.execute(sa.select(Person.id_digest, Person.province_code, Person.id))
        return {tuple(r) for r in rows}  # type: ignore[misc]


def test_every_imported_person_has_one_directory_entry_where_they_live(
    ctx: AppContext, tmp_path: Path
) -> None:
    holders = [person(name=f"测试{i}", groups=[TargetGroup.UNEMPLOYED]) for i in range(5)]
    path = write_csv(tmp_path / "people.csv", PEOPLE_HEADER, [people_row(p) for p in holders])

    import_people(ctx, path)
    import_people(ctx, path)  # a re-run claims nothing twice

    assert len(people(ctx)) == 5
    assert directory(ctx) == people(ctx)


def test_the_demo_registry_copies_directory_entries_with_its_people(
    ctx: AppContext, tmp_path: Path
) -> None:
    plan = RegistryPlan(200, ["140100"], [], date(2026, 3, 1), 3, claimants=5, roster=2)

    load_registry(ctx, plan, tmp_path / "people.csv")

    assert len(people(ctx)) == 200
    assert directory(ctx) == people(ctx)


def test_a_person_whose_household_moves_province_keeps_their_id_and_the_directory_follows(
    ctx: AppContext, clock: Clock, tmp_path: Path
) -> None:
    stays, moves = person(name="王芳"), person(name="李强")
    import_people(
        ctx, write_csv(tmp_path / "a.csv", PEOPLE_HEADER, [people_row(stays), people_row(moves)])
    )
    before = {digest: (province, pid) for digest, province, pid in people(ctx)}
    clock.advance(timedelta(days=1))
    moved_row = people_row(moves)
    moved_row[3] = HENAN  # household_region

    report = import_people(
        ctx, write_csv(tmp_path / "b.csv", PEOPLE_HEADER, [people_row(stays), moved_row])
    )

    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 1)
    after = {digest: (province, pid) for digest, province, pid in people(ctx)}
    moved = ctx.digest(moves.resident_id)
    assert after[moved] == (HENAN, before[moved][1])
    assert {d: v for d, v in after.items() if d != moved} == {
        d: v for d, v in before.items() if d != moved
    }
    assert directory(ctx) == people(ctx)
    with ctx.unit_of_work() as uow:
        stored = uow.people.by_digest(moved)
        assert stored is not None
        assert stored.household_region == HENAN
        assert stored.updated_at == clock.now


def test_a_scheme_code_is_taken_once_in_the_nation(ctx: AppContext) -> None:
    make_scheme(ctx, launch=False, code="SHARED-2026")

    with pytest.raises(AlreadyExists):
        make_scheme(ctx, launch=False, code="SHARED-2026", region=HENAN)


def test_the_database_refuses_a_taken_code_that_slips_past_the_check(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two provinces creating one code at once both pass the look-up; the code's row in
    ``scheme_codes`` lets only one commit, although their scheme rows are in two provinces."""
    make_scheme(ctx, launch=False, code="SHARED-2026")
    monkeypatch.setattr(SchemeRepository, "by_code", lambda self, code: None)

    with pytest.raises(sa.exc.IntegrityError):
        make_scheme(ctx, launch=False, code="SHARED-2026", region=HENAN)

    with ctx.unit_of_work() as uow:
        schemes = uow.session.execute(sa.select(Scheme.code, Scheme.province_code)).all()
        codes = uow.session.execute(sa.select(SchemeCode.code, SchemeCode.province_code)).all()
    assert [tuple(s) for s in schemes] == [("SHARED-2026", "140000")]
    assert [tuple(c) for c in codes] == [("SHARED-2026", "140000")]
