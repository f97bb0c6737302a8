"""Write the demo's registry and catalogue as the CSV files a bureau would upload."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from random import Random

from skillvoucher.application.catalogue_import import COURSE_COLUMNS, INSTITUTION_COLUMNS
from skillvoucher.application.registry_import import OPTIONAL_COLUMNS, PEOPLE_COLUMNS
from skillvoucher.demo.synthetic import (
    SyntheticPerson,
    generate_credit_code,
    generate_institution_name,
)
from skillvoucher.domain.occupations import Occupation

# The importers' own column lists, so the demo's files always match what they read.
PEOPLE_HEADER = (*PEOPLE_COLUMNS, *OPTIONAL_COLUMNS)

# (skill level, price range in fen, hours): what subsidised courses typically cost and last.
COURSE_SHAPES = (
    ("5", (80_000, 160_000), 80),
    ("4", (140_000, 240_000), 120),
    ("3", (200_000, 320_000), 160),
    ("special", (50_000, 90_000), 40),
    ("completion", (30_000, 70_000), 32),
)


def people_file_row(p: SyntheticPerson) -> tuple[str, ...]:
    """The person as a line of the registry file, in ``PEOPLE_HEADER`` order."""
    return (
        p.resident_id,
        p.name,
        p.household_region,
        p.mobile,
        p.ssc_card_status,
        p.employer_credit_code or "",
        ";".join(p.target_groups),
    )


def write_people(path: Path, people: Iterable[SyntheticPerson]) -> int:
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(PEOPLE_HEADER)
        for p in people:
            writer.writerow(people_file_row(p))
            count += 1
    return count


def write_catalogue(
    rng: Random,
    institutions_path: Path,
    courses_path: Path,
    cities: Sequence[tuple[str, str]],
    per_city: int,
    occupations: Sequence[Occupation],
    year: int,
) -> list[str]:
    """Institutions (a few pending approval, to show they cannot be used) and their courses."""
    codes = []
    with (
        institutions_path.open("w", newline="", encoding="utf-8") as inst_handle,
        courses_path.open("w", newline="", encoding="utf-8") as course_handle,
    ):
        institutions = csv.writer(inst_handle)
        courses = csv.writer(course_handle)
        institutions.writerow(INSTITUTION_COLUMNS)
        courses.writerow(COURSE_COLUMNS)
        for city_code, city_name in cities:
            for n in range(per_city):
                code = generate_credit_code(rng, city_code, "school")
                codes.append(code)
                specialty = rng.choice(occupations)
                approved = "approved" if n % 10 != 9 else "pending"
                delivery = rng.choice(("offline", "offline", "both"))
                institutions.writerow(
                    (
                        code,
                        generate_institution_name(rng, city_name, specialty.name),
                        city_code,
                        approved,
                        delivery,
                    )
                )
                for k, occupation in enumerate(rng.sample(list(occupations), 4)):
                    level, (low, high), hours = rng.choice(COURSE_SHAPES)
                    mode = "online" if delivery == "both" and k == 0 else "offline"
                    courses.writerow(
                        (
                            code,
                            f"C{k + 1:02d}",
                            f"{occupation.name}（{level}）培训班",
                            occupation.code,
                            level,
                            hours,
                            rng.randrange(low, high, 100),
                            mode,
                            rng.choice((60, 120, 200)),
                            date(year, 3, 1).isoformat(),
                            date(year, 12, 31).isoformat(),
                        )
                    )
    return codes
