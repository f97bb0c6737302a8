"""Registry and catalogue imports: good rows in, bad rows reported by line, re-runs idempotent."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from builders import (
    PEOPLE_HEADER,
    Clock,
    CourseSpec,
    credit_code,
    enrol,
    import_institution,
    issue,
    people_row,
    person,
    training_world,
    write_csv,
)
from skillvoucher.application.catalogue_import import (
    COURSE_COLUMNS,
    INSTITUTION_COLUMNS,
    import_courses,
    import_institutions,
)
from skillvoucher.application.context import AppContext
from skillvoucher.application.imports import ImportReport
from skillvoucher.application.registry_import import import_people
from skillvoucher.demo.synthetic import SyntheticPerson
from skillvoucher.domain.catalogue import ApprovalStatus, CourseMode, DeliveryModes
from skillvoucher.domain.errors import InvalidInput
from skillvoucher.domain.identity import mask_resident_id
from skillvoucher.domain.people import CardStatus, TargetGroup, groups_to_mask
from skillvoucher.persistence.tables import Course, Institution, Person

# --- helpers -----------------------------------------------------------------------------------


def table_rows(ctx: AppContext, table: Any) -> list[dict[str, Any]]:
    """Every row of ``table`` as a dict of all columns, in primary-key order."""
    with ctx.unit_of_work() as uow:
        result = uow.session.execute(sa.select(table.__table__).order_by(table.id))
        return [dict(row._mapping) for row in result]


def problems_by_line(report: ImportReport) -> dict[int, str]:
    lines = [p.line for p in report.problems]
    assert len(lines) == len(set(lines)), f"one problem per line: {report.problems}"
    return {p.line: p.reason for p in report.problems}


def with_bad_check_digit(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


def write_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    workbook.close()
    return path


# --- People ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PeopleFile:
    good: list[SyntheticPerson]
    rows: list[list[object]]
    expected_problems: dict[int, str]  # file line -> part of the reason


def people_file() -> PeopleFile:
    """Three good people (line 2-4), then one bad row per kind of mistake (lines 5-9)."""
    good = [
        person(name="王芳", groups=[TargetGroup.UNEMPLOYED]),
        person(name="李强", age=45, groups=[TargetGroup.LAID_OFF, TargetGroup.DISABLED]),
        person(name="张伟", region="140105", groups=[], card_status=CardStatus.INACTIVE),
    ]
    rows: list[list[object]] = [people_row(p) for p in good]
    bad_check = people_row(person(name="赵敏"))
    bad_check[0] = with_bad_check_digit(str(bad_check[0]))
    unknown_region = people_row(person(name="钱进", region="140199"))
    bad_mobile = people_row(person(name="孙丽"))
    bad_mobile[2] = "12345"
    unknown_group = people_row(person(name="周杰"))
    unknown_group[6] = "unemployed;astronaut"
    duplicate = people_row(dataclasses.replace(good[0], name="王芳芳"))
    rows += [bad_check, unknown_region, bad_mobile, unknown_group, duplicate]
    return PeopleFile(
        good,
        rows,
        {
            5: "check digit should be",
            6: "household region '140199' is not a known region code",
            7: "mobile number must have 11 digits",
            8: "unknown target group 'astronaut'",
            9: "same resident ID as line 2",
        },
    )


def write_people(ctx: AppContext, rows: Sequence[Sequence[object]], suffix: str) -> Path:
    path = ctx.settings.data_dir / f"people{suffix}"
    if suffix == ".xlsx":
        return write_xlsx(path, PEOPLE_HEADER, rows)
    return write_csv(path, PEOPLE_HEADER, rows)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_people_import_takes_good_rows_and_reports_each_bad_one(
    ctx: AppContext, suffix: str
) -> None:
    data = people_file()

    report = import_people(ctx, write_people(ctx, data.rows, suffix))

    assert (report.inserted, report.updated, report.unchanged) == (3, 0, 0)
    found = problems_by_line(report)
    assert found.keys() == data.expected_problems.keys()
    for line, reason in data.expected_problems.items():
        assert reason in found[line], (line, found[line])
    for problem in report.problems:
        # Problems name rows by a mask only: no resident ID in clear, anywhere.
        row = data.rows[problem.line - 2]
        assert str(row[0]) not in f"{problem.reason} {problem.key}"
        assert problem.key == mask_resident_id(str(row[0]))

    stored = {r["id_digest"]: r for r in table_rows(ctx, Person)}
    assert set(stored) == {ctx.digest(p.resident_id) for p in data.good}
    for p in data.good:
        saved = stored[ctx.digest(p.resident_id)]
        assert saved["name"] == p.name
        assert saved["mobile"] == p.mobile
        assert saved["id_masked"] == mask_resident_id(p.resident_id)
        assert saved["household_region"] == p.household_region
        assert saved["province_code"] == "140000"
        assert saved["card_status"] is CardStatus(p.ssc_card_status)
        assert saved["target_groups_mask"] == groups_to_mask(
            frozenset(TargetGroup(g) for g in p.target_groups)
        )


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_people_reimport_changes_nothing_and_a_changed_row_is_updated(
    ctx: AppContext, clock: Clock, suffix: str
) -> None:
    data = people_file()
    import_people(ctx, write_people(ctx, data.rows, suffix))
    before = table_rows(ctx, Person)
    clock.advance(timedelta(days=1))

    again = import_people(ctx, write_people(ctx, data.rows, suffix))

    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert problems_by_line(again).keys() == data.expected_problems.keys()
    assert table_rows(ctx, Person) == before

    changed = [list(r) for r in data.rows]
    changed[1][2] = "13800001111"  # 李强 has a new mobile number
    changed[1][6] = "laid_off"  # and is no longer registered as disabled
    clock.advance(timedelta(days=1))

    third = import_people(ctx, write_people(ctx, changed, suffix))

    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 2)
    after = {r["id"]: r for r in table_rows(ctx, Person)}
    for old in before:
        new = after[old["id"]]
        if old["name"] != "李强":
            assert new == old
            continue
        assert new["mobile"] == "13800001111"
        assert new["target_groups_mask"] == TargetGroup.LAID_OFF.bit
        assert new["created_at"] == old["created_at"]
        assert new["updated_at"] == clock.now
        unchanged_columns = old.keys() - {
            "mobile",
            "target_groups_mask",
            "content_digest",
            "updated_at",
        }
        assert {c: new[c] for c in unchanged_columns} == {c: old[c] for c in unchanged_columns}


def test_xlsx_numeric_cells_are_read_as_text(ctx: AppContext) -> None:
    """Excel keeps a typed-in mobile number as a number; it must import like the CSV text."""
    holder = person(name="吴昊")
    row = people_row(holder)
    row[2] = int(holder.mobile)
    report = import_people(ctx, write_people(ctx, [row], ".xlsx"))
    assert (report.inserted, report.problems) == (1, [])
    assert [r["mobile"] for r in table_rows(ctx, Person)] == [holder.mobile]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_people_file_missing_a_column_is_refused_before_anything_is_written(
    ctx: AppContext, suffix: str
) -> None:
    header = [c for c in PEOPLE_HEADER if c != "household_region"]
    rows = [
        [
            v
            for c, v in zip(PEOPLE_HEADER, people_row(person()), strict=True)
            if c != "household_region"
        ]
    ]
    path = ctx.settings.data_dir / f"no-region{suffix}"
    if suffix == ".xlsx":
        write_xlsx(path, header, rows)
    else:
        write_csv(path, header, rows)

    with pytest.raises(InvalidInput, match="lacks the column"):
        import_people(ctx, path)

    assert table_rows(ctx, Person) == []


def test_line_numbers_count_file_lines_around_multiline_cells(ctx: AppContext) -> None:
    """A quoted cell may span lines; the following rows keep their real line numbers."""
    rows = [people_row(person(name="王\n芳")), people_row(person(name="李强"))]
    rows[1][2] = "12345"
    report = import_people(ctx, write_people(ctx, rows, ".csv"))
    assert report.inserted == 1
    assert [p.line for p in report.problems] == [4]


def test_a_bad_multiline_row_is_reported_at_the_line_where_it_starts(ctx: AppContext) -> None:
    rows = [people_row(person(name="王\n芳"))]
    rows[0][2] = "12345"
    report = import_people(ctx, write_people(ctx, rows, ".csv"))
    assert [p.line for p in report.problems] == [2]


# --- Institutions ------------------------------------------------------------------------------


def institution_rows() -> tuple[list[list[object]], dict[int, str]]:
    good_a, good_b = credit_code(), credit_code()
    bad_check = credit_code()
    bad_check = bad_check[:-1] + ("0" if bad_check[-1] != "0" else "1")
    rows: list[list[object]] = [
        [good_a, "太原市晋阳职业技能培训学校", "140100", "approved", "both"],
        [good_b, "太原市龙城家政服务职业培训学校", "140105", "pending", "offline"],
        [bad_check, "太原市育才职业技能培训学校", "140100", "approved", "both"],
        [credit_code(), "太原市华夏职业技能培训学校", "140199", "approved", "both"],
        [credit_code(), "太原市启航职业技能培训学校", "140100", "approved-ish", "both"],
        [good_a, "太原市晋阳职业技能培训学校分校", "140100", "approved", "both"],
    ]
    return rows, {
        4: "check character should be",
        5: "region '140199' is not a known region code",
        6: "approval_status must be one of",
        7: "same credit code as line 2",
    }


def test_institutions_import_reports_bad_rows_and_is_rerunnable(
    ctx: AppContext, clock: Clock
) -> None:
    rows, expected = institution_rows()
    path = write_csv(ctx.settings.data_dir / "inst.csv", INSTITUTION_COLUMNS, rows)

    report = import_institutions(ctx, path)

    assert (report.inserted, report.updated, report.unchanged) == (2, 0, 0)
    found = problems_by_line(report)
    assert found.keys() == expected.keys()
    for line, reason in expected.items():
        assert reason in found[line]
    stored = {r["credit_code"]: r for r in table_rows(ctx, Institution)}
    assert stored.keys() == {rows[0][0], rows[1][0]}
    assert stored[str(rows[1][0])]["approval_status"] is ApprovalStatus.PENDING
    assert stored[str(rows[1][0])]["delivery_modes"] is DeliveryModes.OFFLINE
    before = table_rows(ctx, Institution)

    clock.advance(timedelta(hours=1))
    again = import_institutions(ctx, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert table_rows(ctx, Institution) == before

    rows[1][3] = "approved"
    clock.advance(timedelta(hours=1))
    changed = import_institutions(ctx, write_csv(path, INSTITUTION_COLUMNS, rows))
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 1)
    after = {r["credit_code"]: r for r in table_rows(ctx, Institution)}
    assert after[str(rows[1][0])]["approval_status"] is ApprovalStatus.APPROVED
    assert after[str(rows[1][0])]["updated_at"] == clock.now
    assert after[str(rows[0][0])] == stored[str(rows[0][0])]


# --- Courses -----------------------------------------------------------------------------------


def test_courses_import_reports_bad_rows_and_is_rerunnable(ctx: AppContext, clock: Clock) -> None:
    both = import_institution(ctx)
    online_only = import_institution(ctx, name="太原市远航网络培训学校", delivery_modes="online")
    good = CourseSpec(course_code="C1")
    rows: list[list[object]] = [
        good.row(both),
        CourseSpec(course_code="C2", mode="online", price_fen=99_999).row(online_only),
        CourseSpec(course_code="C3").row(credit_code()),  # institution never imported
        CourseSpec(course_code="C4", occupation_code="4-10-1-02").row(both),
        CourseSpec(course_code="C5", start_date=good.end_date, end_date=good.start_date).row(both),
        CourseSpec(course_code="C6", mode="offline").row(online_only),
        CourseSpec(course_code="C7", hours=0).row(both),
        CourseSpec(course_code="C1", name="育婴员(五级)晚班").row(both),
    ]
    expected = {
        4: "is not imported yet",
        5: "must look like 6-18-02-04",
        6: "end_date is before start_date",
        7: "not approved for offline training",
        8: "hours must be between 1 and 2000",
        9: "same course as line 2",
    }
    path = write_csv(ctx.settings.data_dir / "courses.csv", COURSE_COLUMNS, rows)

    report = import_courses(ctx, path)

    assert (report.inserted, report.updated, report.unchanged) == (2, 0, 0)
    found = problems_by_line(report)
    assert found.keys() == expected.keys()
    for line, reason in expected.items():
        assert reason in found[line], (line, found[line])
    stored = {r["course_code"]: r for r in table_rows(ctx, Course)}
    assert stored.keys() == {"C1", "C2"}
    assert stored["C1"]["occupation_name"] == "育婴员"
    assert stored["C1"]["price_fen"] == good.price_fen
    assert stored["C1"]["enrolled_count"] == 0
    assert stored["C2"]["mode"] is CourseMode.ONLINE
    before = table_rows(ctx, Course)

    again = import_courses(ctx, path)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert table_rows(ctx, Course) == before

    rows[0] = CourseSpec(course_code="C1", price_fen=120_000).row(both)
    clock.advance(timedelta(hours=1))
    changed = import_courses(ctx, write_csv(path, COURSE_COLUMNS, rows))
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 1)
    after = {r["course_code"]: r for r in table_rows(ctx, Course)}
    assert after["C1"]["price_fen"] == 120_000
    assert after["C1"]["id"] == stored["C1"]["id"]
    assert after["C2"] == stored["C2"]


def test_course_file_missing_a_column_is_refused_before_anything_is_written(
    ctx: AppContext,
) -> None:
    institution = import_institution(ctx)
    header = [c for c in COURSE_COLUMNS if c != "price_fen"]
    row = [
        v
        for c, v in zip(COURSE_COLUMNS, CourseSpec().row(institution), strict=True)
        if c != "price_fen"
    ]
    path = write_csv(ctx.settings.data_dir / "courses.csv", header, [row])

    with pytest.raises(InvalidInput, match=r"lacks the column.*price_fen"):
        import_courses(ctx, path)

    assert table_rows(ctx, Course) == []


def test_institution_file_missing_a_column_is_refused(ctx: AppContext) -> None:
    header = [c for c in INSTITUTION_COLUMNS if c != "approval_status"]
    path = write_csv(
        ctx.settings.data_dir / "inst.csv",
        header,
        [[credit_code(), "太原市晋阳学校", "140100", "both"]],
    )
    with pytest.raises(InvalidInput, match="approval_status"):
        import_institutions(ctx, path)
    assert table_rows(ctx, Institution) == []


def test_course_capacity_below_its_enrolments_is_reported_not_crashed(ctx: AppContext) -> None:
    world = training_world(ctx)
    for holder in world.people[:2]:
        enrol(ctx, issue(ctx, world.scheme.code, holder).voucher_id, world.institution)
    rows = [
        CourseSpec(course_code="C1", capacity=1).row(world.institution),
        CourseSpec(course_code="C9").row(world.institution),
    ]
    path = write_csv(ctx.settings.data_dir / "courses.csv", COURSE_COLUMNS, rows)

    report = import_courses(ctx, path)

    assert [p.line for p in report.problems] == [2]
    assert report.inserted == 1
    stored = {r["course_code"]: r for r in table_rows(ctx, Course)}
    assert (stored["C1"]["capacity"], stored["C1"]["enrolled_count"]) == (100, 2)
