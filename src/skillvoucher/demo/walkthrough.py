"""After the demo: what a person needs to try the API by hand with curl.

Staff accounts with fresh random passwords, an institution's API key, a course open from today,
a Taiyuan scheme open from today, and one registered worker holding a live voucher of it. All of
it goes through the real use cases (and so into the audit trail) and is written to
``walkthrough.json`` (mode 0600) next to the demo's files. Development only: it hands out
passwords in a file.
"""

from __future__ import annotations

import csv
import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

from skillvoucher.application import catalogue_import, funds, issuance, schemes
from skillvoucher.application.api_keys import create_api_key
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.application.scheme_files import parse_scheme_document
from skillvoucher.application.staff_accounts import create_staff_account
from skillvoucher.domain.access import Permission, Role
from skillvoucher.domain.timekeeping import local_date

CITY = "140100"  # 太原市
PROVINCE = "140000"
FACE_VALUE_FEN = 120_000
COURSE_CODE = "WALK-01"
WALKTHROUGH_FILE = "walkthrough.json"


@dataclass
class Walkthrough:
    worker_id_number: str
    worker_name: str
    scheme_code: str
    voucher_id: str
    institution_code: str
    institution_id: str
    course_id: str
    institution_api_key: str
    employer_credit_code: str = ""
    passwords: dict[str, str] = field(default_factory=dict)


def _first_worker(people_csv: Path) -> tuple[str, str]:
    """A Taiyuan resident with an active card, read from the demo's registry file."""
    with people_csv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["household_region"] == CITY and row.get("card_status", "active") == "active":
                return row["resident_id"], row["name"]
    raise LookupError(f"{people_csv} has no Taiyuan resident with an active card")


def _largest_employer(people_csv: Path) -> str:
    """The Taiyuan enterprise (credit code 91…) with the most registered employees."""
    employees: dict[str, int] = {}
    with people_csv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            employer = row.get("employer_credit_code") or ""
            if row["household_region"] == CITY and employer.startswith("91"):
                employees[employer] = employees.get(employer, 0) + 1
    if not employees:
        raise LookupError(f"{people_csv} has no Taiyuan employee of an enterprise")
    return max(sorted(employees), key=lambda code: employees[code])


def _first_institution(institutions_csv: Path) -> str:
    with institutions_csv.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["region_code"] == CITY and row["approval_status"] == "approved":
                return row["credit_code"]
    raise LookupError(f"{institutions_csv} has no approved Taiyuan institution")


def _open_course(ctx: AppContext, folder: Path, institution_code: str) -> None:
    today = local_date(ctx.clock())
    path = folder / "walkthrough-course.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(catalogue_import.COURSE_COLUMNS)
        writer.writerow(
            (
                institution_code,
                COURSE_CODE,
                "电工(四级) 周末班",
                "6-31-01-03",
                "4",
                120,
                150_000,
                "offline",
                40,
                today.isoformat(),
                (today + timedelta(days=365)).isoformat(),
            )
        )
    catalogue_import.import_courses(ctx, path)


def _scheme(code: str) -> dict[str, object]:
    return {
        "code": code,
        "name": "太原市技能培训券（接口演示）",
        "region": CITY,
        "type": "individual",
        "issuance": "application",
        "quota": 100,
        "budget_fen": 100 * FACE_VALUE_FEN,
        "face_value": {"fixed_fen": FACE_VALUE_FEN},
        "validity": {"days": 180},
        "eligibility": {"household_regions": [CITY]},
        "settlement": {
            "stages": [
                {"evidence": "enrolment", "percent": 40},
                {"evidence": "completion", "percent": 60},
            ],
            "min_attendance_percent": 70,
        },
    }


def prepare_walkthrough(ctx: AppContext, folder: Path) -> Walkthrough:
    """Everything the README's curl walkthrough uses; written to ``folder/walkthrough.json``."""
    worker_id, worker_name = _first_worker(folder / "people.csv")
    institution_code = _first_institution(folder / "institutions.csv")
    _open_course(ctx, folder, institution_code)
    institution_id = institution_id_by_code(ctx, institution_code)

    code = f"TY-WALKTHROUGH-{local_date(ctx.clock()):%Y%m%d}"
    funds.deposit(ctx, CITY, 100 * FACE_VALUE_FEN, "接口演示专账拨付")
    schemes.create_scheme(ctx, parse_scheme_document(_scheme(code)))
    voucher = issuance.issue_to_person(ctx, code, worker_id)

    employer = _largest_employer(folder / "people.csv")
    passwords: dict[str, str] = {}
    for username, role, region, institution, employer_code in (
        ("demo-shanxi-admin", Role.PROVINCE_ADMIN, PROVINCE, None, None),
        ("demo-taiyuan-admin", Role.CITY_ADMIN, CITY, None, None),
        ("demo-auditor", Role.AUDITOR, PROVINCE, None, None),
        ("demo-institution", Role.INSTITUTION_STAFF, None, institution_id, None),
        ("demo-enterprise", Role.ENTERPRISE_HR, None, None, employer),
        ("demo-statistician", Role.NATIONAL_STATISTICIAN, None, None, None),
    ):
        # Random letters may come out all letters; the digits keep the strength rule happy.
        password = f"{secrets.token_urlsafe(12)}-{secrets.randbelow(900) + 100}"
        create_staff_account(
            ctx,
            None,
            username=username,
            password=password,
            role=role,
            region_code=region,
            institution_id=institution,
            employer_credit_code=employer_code,
        )
        passwords[username] = password
    key = create_api_key(
        ctx,
        None,
        name="演示机构签到设备 check-in device",
        role=Role.INSTITUTION_STAFF,
        scopes=[
            Permission.ENROLMENT_CREATE,
            Permission.ATTENDANCE_RECORD,
            Permission.COMPLETION_RECORD,
            Permission.ENROLMENT_READ,
        ],
        institution_id=institution_id,
    )
    with ctx.unit_of_work() as uow:
        course = uow.catalogue.course_by_code(institution_id, COURSE_CODE)
        assert course is not None  # imported above
        course_id = course.id
    walkthrough = Walkthrough(
        worker_id_number=worker_id,
        worker_name=worker_name,
        scheme_code=code,
        voucher_id=str(voucher.voucher_id),
        institution_code=institution_code,
        institution_id=str(institution_id),
        course_id=str(course_id),
        institution_api_key=key.key,
        employer_credit_code=employer,
        passwords=passwords,
    )
    path = folder / WALKTHROUGH_FILE
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(asdict(walkthrough), handle, ensure_ascii=False, indent=2)
    return walkthrough
