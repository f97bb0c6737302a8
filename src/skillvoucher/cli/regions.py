"""``skillvoucher regions``: administrative regions (GB/T 2260)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from skillvoucher.application.regions_import import import_regions, region_list
from skillvoucher.cli.context import open_app
from skillvoucher.cli.errors import EXIT_FAILED
from skillvoucher.cli.output import print_import_report, stdout, table

app = typer.Typer(help="Administrative regions (GB/T 2260 codes).", no_args_is_help=True)


@app.command("import")
def import_command(
    file: Annotated[
        Path, typer.Argument(metavar="FILE.csv", help="CSV with columns code,name,name_en.")
    ],
) -> None:
    """Add or rename regions from a CSV file; bad rows are listed by line (exit 1)."""
    with open_app() as ctx:
        report = import_regions(ctx, file)
    print_import_report(report)
    if report.problems:
        raise typer.Exit(EXIT_FAILED)


@app.command("list")
def list_command() -> None:
    """List the known regions with their level and parent."""
    with open_app() as ctx:
        regions = region_list(ctx)
    rows = table("code", "name", "level", "parent")
    for region in regions:
        rows.add_row(region.code, region.name, region.level.value, region.parent_code or "-")
    stdout().print(rows)
