"""After the demo: what the enterprise portal needs to be tried by hand.

A Taiyuan enterprise scheme open from today, funded from the city's special fund, and a sample
roster of the employer's employees (``enterprise-roster.xlsx``) for the ``demo-enterprise`` HR
account to upload. The roster is read from the demo's registry file, so some of the employees
on it will not qualify (too old, no active card…): the portal shows who did and why the others
did not. One Taiyuan resident who works elsewhere is added at the end to show that refusal too.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from skillvoucher.application import funds, schemes
from skillvoucher.application.context import AppContext
from skillvoucher.application.scheme_files import parse_scheme_document
from skillvoucher.domain.timekeeping import local_date

CITY = "140100"  # 太原市
FACE_VALUE_FEN = 150_000
QUOTA = 200
ROSTER_FILE = "enterprise-roster.xlsx"
ROSTER_EMPLOYEES = 12


@dataclass(frozen=True)
class EnterpriseWalkthrough:
    scheme_code: str
    roster_path: Path
    roster_lines: int


def enterprise_scheme(code: str) -> dict[str, object]:
    """The scheme document, as an administrator would write it in YAML."""
    return {
        "code": code,
        "name": "太原市企业职工岗位技能提升培训券（企业端演示）",
        "region": CITY,
        "type": "enterprise",
        "issuance": "application",
        "quota": QUOTA,
        "budget_fen": QUOTA * FACE_VALUE_FEN,
        "face_value": {"fixed_fen": FACE_VALUE_FEN},
        "validity": {"days": 240},
        "eligibility": {
            "target_groups": ["employee"],
            "max_age": 60,
            "household_regions": [CITY],
        },
        "settlement": {
            "stages": [
                {"evidence": "enrolment", "percent": 30},
                {"evidence": "completion", "percent": 70},
            ],
            "min_attendance_percent": 80,
        },
    }


def _roster_people(people_csv: Path, employer: str) -> list[tuple[str, str]]:
    """The first employees of ``employer`` living in Taiyuan, and one Taiyuan resident who is
    not its employee, as (resident ID number, name)."""
    employees: list[tuple[str, str]] = []
    outsider: tuple[str, str] | None = None
    with people_csv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["household_region"] != CITY:
                continue
            entry = (row["resident_id"], row["name"])
            if row.get("employer_credit_code") == employer:
                if len(employees) < ROSTER_EMPLOYEES:
                    employees.append(entry)
            elif outsider is None:
                outsider = entry
            if len(employees) == ROSTER_EMPLOYEES and outsider is not None:
                break
    if not employees:
        raise LookupError(f"{people_csv} has no Taiyuan employee of {employer}")
    return employees + ([outsider] if outsider else [])


def _write_roster(path: Path, people: list[tuple[str, str]]) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook has one sheet
    sheet.title = "roster"
    sheet.append(["公民身份号码", "姓名"])
    for number, name in people:
        sheet.append([number, name])
    for row in sheet.iter_rows(min_row=2, max_col=1):
        row[0].number_format = "@"  # an ID number is text: Excel would round 18 digits
    sheet.column_dimensions["A"].width = 24
    workbook.save(path)


def prepare_enterprise_walkthrough(
    ctx: AppContext, folder: Path, employer_credit_code: str
) -> EnterpriseWalkthrough:
    """Fund and launch a Taiyuan enterprise scheme open from today, and write a sample roster
    of ``employer_credit_code``'s employees (from ``folder/people.csv``) to
    ``folder/enterprise-roster.xlsx``."""
    code = f"TY-ENTERPRISE-{local_date(ctx.clock()):%Y%m%d}"
    funds.deposit(ctx, CITY, QUOTA * FACE_VALUE_FEN, "企业职工培训券专账拨付（演示）")
    schemes.create_scheme(ctx, parse_scheme_document(enterprise_scheme(code)))
    people = _roster_people(folder / "people.csv", employer_credit_code)
    path = folder / ROSTER_FILE
    _write_roster(path, people)
    return EnterpriseWalkthrough(code, path, len(people))
