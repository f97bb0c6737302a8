"""``skillvoucher import``: the people registry and the training catalogue from CSV or XLSX."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from skillvoucher.application.catalogue_import import import_courses, import_institutions
from skillvoucher.application.context import AppContext
from skillvoucher.application.imports import ImportReport, ProgressCallback
from skillvoucher.application.registry_import import import_people
from skillvoucher.cli.context import open_app
from skillvoucher.cli.errors import EXIT_FAILED
from skillvoucher.cli.output import print_import_report, progress_bar

app = typer.Typer(
    help="Import people, institutions and courses (CSV or XLSX).\n\n"
    "Good rows go in, bad rows are listed by line and the exit code is 1; re-running a file "
    "changes only what changed.",
    no_args_is_help=True,
)

FileArgument = Annotated[
    Path, typer.Argument(metavar="FILE", help="A .csv or .xlsx file with a header row.")
]
Importer = Callable[[AppContext, Path, ProgressCallback | None], ImportReport]


def _run(importer: Importer, file: Path, what: str, *, show_keys: bool) -> None:
    with open_app() as ctx, progress_bar(f"importing {what}") as bar:
        report = importer(ctx, file, bar.count)
    print_import_report(report, show_keys=show_keys)
    if report.problems:
        raise typer.Exit(EXIT_FAILED)


@app.command("people")
def people(file: FileArgument) -> None:
    """People registry: resident_id, name, household_region; optional mobile, card_status,
    employer_credit_code, target_groups (separated by ;)."""
    _run(import_people, file, "people", show_keys=False)


@app.command("institutions")
def institutions(file: FileArgument) -> None:
    """Training institutions: credit_code, name, region_code, approval_status, delivery_modes."""
    _run(import_institutions, file, "institutions", show_keys=True)


@app.command("courses")
def courses(file: FileArgument) -> None:
    """Courses: institution_credit_code, course_code, name, occupation_code, skill_level, hours,
    price_fen, mode, capacity, start_date, end_date."""
    _run(import_courses, file, "courses", show_keys=True)
