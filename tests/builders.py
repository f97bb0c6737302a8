"""Small typed builders that set up data through the real use cases.

Files a builder imports are written into the context's ``data_dir`` (a per-test directory), so
callers never pass paths around. Everything else goes through ``skillvoucher.application``.
"""

from __future__ import annotations

import csv
import itertools
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

from skillvoucher.application import (
    catalogue_import,
    enrolment,
    funds,
    issuance,
    registry_import,
    settlement_batches,
)
from skillvoucher.application.context import AppContext
from skillvoucher.application.imports import ImportReport
from skillvoucher.application.scheme_files import parse_scheme_document
from skillvoucher.application.schemes import SchemeView, create_scheme
from skillvoucher.config import Settings
from skillvoucher.demo.synthetic import SyntheticPerson, generate_credit_code, generate_people
from skillvoucher.domain.identity import parse_resident_id, resident_id_check_char
from skillvoucher.domain.people import CardStatus, TargetGroup
from skillvoucher.domain.schemes import PersonFacts
from skillvoucher.domain.timekeeping import local_date

CITY = "140100"  # 太原市: home of the default scheme, institution and people
OTHER_CITY = "140200"  # 大同市
OCCUPATION = "4-10-01-02"  # 育婴员, in the shipped occupation list
# 09:00 in Shanghai on a Monday, comfortably in the past of the machine running the tests, so
# resident IDs generated for "today" never carry a birth date in the future.
DEFAULT_START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DEFAULT_TODAY = DEFAULT_START.date()


class Clock:
    """A controllable clock: assign it to ``ctx.clock``; it only moves when told to."""

    def __init__(self, start: datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        self._now = start.astimezone(UTC)

    @property
    def now(self) -> datetime:
        return self._now

    @property
    def today(self) -> date:
        """The calendar day in Asia/Shanghai, as the application reasons about days."""
        return local_date(self._now)

    def __call__(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> datetime:
        self._now = moment.astimezone(UTC)
        return self._now


def make_context(database_url: str, directory: Path, clock: Clock) -> AppContext:
    """An application context on ``database_url`` with its keys and files in ``directory``."""
    settings = Settings(
        data_dir=directory,
        database_url=database_url,
        key_dir=directory / "keys",
        chunk_size=50,
    )
    ctx = AppContext.from_settings(settings)
    ctx.clock = clock
    return ctx


_file_numbers = itertools.count(1)


def _new_file(ctx: AppContext, stem: str, suffix: str = ".csv") -> Path:
    directory = ctx.settings.data_dir
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{stem}-{next(_file_numbers)}{suffix}"


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- People --------------------------------------------------------------------------------------

PEOPLE_HEADER = (
    "resident_id",
    "name",
    "mobile",
    "household_region",
    "card_status",
    "employer_credit_code",
    "target_groups",
)

_sequences = itertools.count(1)


def resident_id(region: str, birth_date: date, *, male: bool = True) -> str:
    """A valid resident ID number, different from every other one this builder made."""
    # The district varies too, so more than 500 people can share a birth date.
    district, sequence = divmod(next(_sequences) % 50_000, 500)
    prefix = f"{region[:4]}{district % 100:02d}"
    body = f"{prefix}{birth_date:%Y%m%d}{sequence * 2 + int(male):03d}"
    return body + resident_id_check_char(body)


def person(
    *,
    birth_date: date | None = None,
    age: int = 30,
    today: date = DEFAULT_TODAY,
    region: str = CITY,
    groups: Iterable[TargetGroup | str] = (TargetGroup.UNEMPLOYED,),
    card_status: CardStatus | str = CardStatus.ACTIVE,
    employer: str | None = None,
    name: str = "王芳",
) -> SyntheticPerson:
    """One registry entry with explicit facts; born ``age`` years before ``today`` by default."""
    born = birth_date or _years_before(today, age) - timedelta(days=40)
    number = next(_sequences)
    return SyntheticPerson(
        resident_id=resident_id(region, born),
        name=name,
        mobile=f"139{number % 10**8:08d}",
        household_region=region,
        ssc_card_status=str(CardStatus(card_status)),
        employer_credit_code=employer,
        target_groups=tuple(str(TargetGroup(g)) for g in groups),
    )


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return date(day.year - years, 2, 28)


def synthetic_people(
    count: int,
    *,
    seed: int = 1,
    cities: Sequence[str] = (CITY, OTHER_CITY),
    employers: Sequence[str] = (),
    today: date = DEFAULT_TODAY,
) -> list[SyntheticPerson]:
    return list(generate_people(Random(seed), count, cities, employers, today))


def people_row(p: SyntheticPerson) -> list[object]:
    return [
        p.resident_id,
        p.name,
        p.mobile,
        p.household_region,
        p.ssc_card_status,
        p.employer_credit_code or "",
        ";".join(p.target_groups),
    ]


def write_people_csv(ctx: AppContext, people: Iterable[SyntheticPerson]) -> Path:
    return write_csv(_new_file(ctx, "people"), PEOPLE_HEADER, (people_row(p) for p in people))


def import_people(ctx: AppContext, people: Iterable[SyntheticPerson]) -> ImportReport:
    """Write ``people`` to a CSV file and import it; fails loudly on any rejected row."""
    report = registry_import.import_people(ctx, write_people_csv(ctx, people))
    if report.problems:
        raise AssertionError(f"builder rows were rejected: {report.problems}")
    return report


def facts_of(p: SyntheticPerson) -> PersonFacts:
    """What the eligibility rules know about ``p``, computed from the file row alone."""
    return PersonFacts(
        birth_date=parse_resident_id(p.resident_id).birth_date,
        household_region=p.household_region,
        groups=frozenset(TargetGroup(g) for g in p.target_groups),
        card_status=CardStatus(p.ssc_card_status),
        employer_credit_code=p.employer_credit_code,
    )


# --- Catalogue -----------------------------------------------------------------------------------

_org_rng = Random(20260302)


def credit_code(region: str = CITY, kind: str = "school") -> str:
    return generate_credit_code(_org_rng, region, "school" if kind == "school" else "enterprise")


def import_institution(
    ctx: AppContext,
    *,
    code: str | None = None,
    name: str = "太原市晋阳职业技能培训学校",
    region: str = CITY,
    approval_status: str = "approved",
    delivery_modes: str = "both",
) -> str:
    """Import one institution; returns its credit code."""
    code = code or credit_code(region)
    path = write_csv(
        _new_file(ctx, "institutions"),
        catalogue_import.INSTITUTION_COLUMNS,
        [[code, name, region, approval_status, delivery_modes]],
    )
    report = catalogue_import.import_institutions(ctx, path)
    if report.problems:
        raise AssertionError(f"institution was rejected: {report.problems}")
    return code


@dataclass(frozen=True)
class CourseSpec:
    course_code: str = "C1"
    name: str = "育婴员(五级)"
    occupation_code: str = OCCUPATION
    skill_level: str = "5"
    hours: int = 80
    price_fen: int = 160_000
    mode: str = "offline"
    capacity: int = 100
    start_date: date = date(2026, 3, 1)
    end_date: date = date(2035, 12, 31)

    def row(self, institution_code: str) -> list[object]:
        return [
            institution_code,
            self.course_code,
            self.name,
            self.occupation_code,
            self.skill_level,
            self.hours,
            self.price_fen,
            self.mode,
            self.capacity,
            self.start_date.isoformat(),
            self.end_date.isoformat(),
        ]


def import_course(ctx: AppContext, institution_code: str, **fields: Any) -> CourseSpec:
    """Import one course of an imported institution; returns what was imported."""
    spec = replace(CourseSpec(), **fields)
    path = write_csv(
        _new_file(ctx, "courses"), catalogue_import.COURSE_COLUMNS, [spec.row(institution_code)]
    )
    report = catalogue_import.import_courses(ctx, path)
    if report.problems:
        raise AssertionError(f"course was rejected: {report.problems}")
    return spec


# --- Funds, schemes, vouchers --------------------------------------------------------------------


DEFAULT_DEPOSIT_FEN = 100_000_000


def deposit(
    ctx: AppContext, amount_fen: int = DEFAULT_DEPOSIT_FEN, region: str = CITY
) -> funds.FundBalance:
    return funds.deposit(ctx, region, amount_fen, "test deposit")


def scheme_document(**overrides: Any) -> dict[str, Any]:
    """A scheme definition (as in a YAML file); top-level keys of ``overrides`` replace defaults."""
    document: dict[str, Any] = {
        "code": "TY-2026-IND",
        "name": "太原市重点群体培训券",
        "region": CITY,
        "type": "individual",
        "issuance": "application",
        "quota": 100,
        "budget_fen": 20_000_000,
        "face_value": {"fixed_fen": 150_000},
        "validity": {"days": 180},
        "eligibility": {},
        "settlement": {
            "stages": [
                {"evidence": "enrolment", "percent": 30},
                {"evidence": "certificate", "percent": 70},
            ],
            "min_attendance_percent": 80,
        },
    }
    document.update(overrides)
    return document


def make_scheme(ctx: AppContext, *, launch: bool = True, **overrides: Any) -> SchemeView:
    """Create (and by default launch) a scheme from ``scheme_document(**overrides)``."""
    return create_scheme(ctx, parse_scheme_document(scheme_document(**overrides)), launch=launch)


def issue(
    ctx: AppContext,
    scheme_code: str,
    holder: SyntheticPerson | str,
    enterprise_credit_code: str | None = None,
) -> issuance.IssuedVoucher:
    number = holder if isinstance(holder, str) else holder.resident_id
    return issuance.issue_to_person(ctx, scheme_code, number, enterprise_credit_code)


def enrol(
    ctx: AppContext, voucher_id: uuid.UUID, institution_code: str, course_code: str = "C1"
) -> enrolment.EnrolmentReceipt:
    """The holder grants a fresh consent code and the institution enrols with it."""
    grant = enrolment.grant_consent(ctx, voucher_id)
    return enrolment.enrol(ctx, voucher_id, institution_code, course_code, grant.code)


@dataclass(frozen=True)
class TrainingWorld:
    """One funded scheme, one approved institution with a course, and registered people."""

    scheme: SchemeView
    institution: str
    course: CourseSpec
    people: list[SyntheticPerson]


def training_world(
    ctx: AppContext,
    *,
    people: int = 5,
    course: Mapping[str, Any] | None = None,
    **scheme_overrides: Any,
) -> TrainingWorld:
    """The usual stage for enrolment, attendance and settlement tests."""
    holders = [person(name=f"学员{i}") for i in range(people)]
    import_people(ctx, holders)
    institution = import_institution(ctx)
    spec = import_course(ctx, institution, **dict(course or {}))
    deposit(ctx)
    scheme = make_scheme(ctx, **scheme_overrides)
    return TrainingWorld(scheme, institution, spec, holders)


def publish_and_pay(
    ctx: AppContext, clock: Clock, batch_id: uuid.UUID, reference: str
) -> settlement_batches.BatchSummary:
    """Put an approved batch on public notice, let the notice run out, and pay it."""
    published = settlement_batches.publish_batch(ctx, batch_id)
    assert published.notice_until is not None
    clock.set(max(clock.now, published.notice_until))
    return settlement_batches.mark_batch_paid(ctx, batch_id, reference)
