"""GB/T 2260 regions: the shipped list loaded at upgrade time, more from a CSV file, a listing."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from skillvoucher.application.context import AppContext
from skillvoucher.application.imports import ImportReport
from skillvoucher.domain.errors import InvalidInput
from skillvoucher.domain.regions import (
    Region,
    RegionLevel,
    builtin_regions,
    parent_code,
    parse_regions_csv,
    region_level,
)
from skillvoucher.domain.row_problems import RowProblem


def load_builtin_regions(ctx: AppContext) -> int:
    with ctx.unit_of_work() as uow:
        count = uow.regions.upsert_many(builtin_regions())
        uow.commit()
    return count


def import_regions(ctx: AppContext, path: Path) -> ImportReport:
    """Good rows go in (a region's parent must be known or in the file); bad rows reported."""
    report = ImportReport()
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror}") from None
    with handle:
        try:
            parsed = list(parse_regions_csv(handle))
        except UnicodeDecodeError as error:
            raise InvalidInput(f"{path.name} is not UTF-8 text: {error}") from None
    with ctx.unit_of_work() as uow:
        known = uow.regions.existing_codes()
        good: list[Region] = []
        in_file = {p.code for p in parsed if isinstance(p, Region)}
        for line, item in enumerate(parsed, start=2):
            if isinstance(item, RowProblem):
                report.problems.append(item)
            elif item.parent_code and item.parent_code not in known | in_file:
                report.problems.append(
                    RowProblem(line, f"parent region {item.parent_code} is not known", item.code)
                )
            else:
                good.append(item)
        report.inserted = len([r for r in good if r.code not in known])
        report.unchanged = len(good) - report.inserted
        uow.regions.upsert_many(good)
        uow.commit()
    return report


@dataclass(frozen=True)
class RegionLine:
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None


def region_list(ctx: AppContext) -> list[RegionLine]:
    with ctx.unit_of_work() as uow:
        names = uow.regions.names()
    return [
        RegionLine(code, name, region_level(code), parent_code(code))
        for code, name in sorted(names.items())
    ]
