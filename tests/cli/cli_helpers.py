"""Helpers for the CLI tests: run ``skillvoucher`` on a data directory, and write input files.

Settings come from the environment, as in production: each run sets SKILLVOUCHER_DATA_DIR to
the test's own directory and clears the other variables, so a developer's settings never leak
in. Fixtures live in ``cli_fixtures``.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from typer.testing import CliRunner, Result

from builders import PEOPLE_HEADER
from skillvoucher.application.catalogue_import import COURSE_COLUMNS, INSTITUTION_COLUMNS
from skillvoucher.cli.main import app
from skillvoucher.demo.synthetic import SyntheticPerson, generate_credit_code, generate_people
from skillvoucher.domain.timekeeping import local_date, utc_now

CITY = "140100"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SCHEME_CODE = "TY-2026-APP"
SCHEME_YAML = f"""\
code: {SCHEME_CODE}
name: 太原市职业技能提升培训券
region: "{CITY}"
type: individual
issuance: application
quota: 100
budget_fen: 10000000
face_value: {{fixed_fen: 150000}}
validity: {{days: 180}}
settlement:
  stages:
    - {{evidence: enrolment, percent: 30}}
    - {{evidence: certificate, percent: 70}}
  min_attendance_percent: 10
"""

Invoke = Callable[..., Result]


@dataclass(frozen=True)
class Workspace:
    """One test's data directory and a way to run ``skillvoucher`` against it."""

    directory: Path
    run: Invoke


def workspace_in(data_dir: Path) -> Workspace:
    runner = CliRunner()
    env = {
        "SKILLVOUCHER_DATA_DIR": str(data_dir),
        "SKILLVOUCHER_DATABASE_URL": None,
        "SKILLVOUCHER_KEY_DIR": None,
    }

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), env=env, input=input)

    return Workspace(data_dir, run)


@dataclass(frozen=True)
class IssuedVoucher:
    workspace: Workspace
    voucher_id: str
    resident_id: str


def one_line(result: Result) -> str:
    """The output of a failed command, checked to be a single line without a traceback."""
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def uuid_in(result: Result) -> str:
    match = UUID_RE.search(result.output)
    assert match is not None, result.output
    return match.group(0)


def people(count: int, seed: int = 1) -> list[SyntheticPerson]:
    rng = random.Random(seed)
    employers = [generate_credit_code(rng, CITY, "enterprise")]
    return list(generate_people(rng, count, [CITY], employers, date.today()))


def write_people_csv(
    path: Path, rows: Sequence[SyntheticPerson], extra: Sequence[Sequence[str]] = ()
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(PEOPLE_HEADER)
        for p in rows:
            writer.writerow(
                [
                    p.resident_id,
                    p.name,
                    p.mobile,
                    p.household_region,
                    "active",  # every test person can receive a voucher
                    p.employer_credit_code or "",
                    ";".join(p.target_groups),
                ]
            )
        writer.writerows(extra)
    return path


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@dataclass(frozen=True)
class Catalogue:
    institutions: Path
    courses: Path
    institution: str
    course: str


def write_catalogue(directory: Path) -> Catalogue:
    """An approved institution in the city with one offline course running today."""
    institution = generate_credit_code(random.Random(7), CITY, "school")
    today = local_date(utc_now())
    institutions = write_csv(
        directory / "institutions.csv",
        INSTITUTION_COLUMNS,
        [(institution, "太原市晋阳职业技能培训学校", CITY, "approved", "both")],
    )
    courses = write_csv(
        directory / "courses.csv",
        COURSE_COLUMNS,
        [
            (
                institution,
                "C1",
                "育婴员(五级)",
                "4-10-01-02",
                "5",
                "80",
                "160000",
                "offline",
                "30",
                (today - timedelta(days=30)).isoformat(),
                (today + timedelta(days=200)).isoformat(),
            )
        ],
    )
    return Catalogue(institutions, courses, institution, "C1")
