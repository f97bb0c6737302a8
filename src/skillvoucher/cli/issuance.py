"""``skillvoucher issue``: push a scheme to everyone eligible, or issue to a person or a roster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from skillvoucher.application.issuance import (
    issue_for_enterprise,
    issue_to_person,
    push_issue,
)
from skillvoucher.application.tabular import read_rows
from skillvoucher.cli.context import open_app
from skillvoucher.cli.errors import EXIT_FAILED
from skillvoucher.cli.output import details, progress_bar, stdout, table, yuan
from skillvoucher.cli.params import read_text
from skillvoucher.domain.timekeeping import show

ROSTER_COLUMNS = ("resident_id",)


def issue_command(
    ctx: typer.Context,
    scheme: Annotated[str, typer.Argument(metavar="SCHEME", help="The scheme code.")],
    person: Annotated[
        str | None,
        typer.Option(
            "--person",
            metavar="RESIDENT_ID",
            help="Issue to this one person. Prefer --person-file: shell history keeps arguments.",
        ),
    ] = None,
    person_file: Annotated[
        Path | None,
        typer.Option(
            "--person-file",
            metavar="FILE",
            help="Read the one person's resident ID from FILE (first line; - for stdin).",
        ),
    ] = None,
    enterprise: Annotated[
        str | None,
        typer.Option(
            "--enterprise",
            metavar="CREDIT_CODE",
            help="The requesting enterprise (enterprise schemes); needs --roster or a person.",
        ),
    ] = None,
    roster: Annotated[
        Path | None,
        typer.Option(help="CSV/XLSX of the enterprise's employees, with a resident_id column."),
    ] = None,
) -> None:
    """Issue vouchers of SCHEME.

    With no option, push: issue to everyone eligible now, within the quota (safe to re-run).
    With --person or --person-file, issue to one person. With --enterprise and --roster, issue
    to each listed employee, one line of outcome per row (exit 1 if any was refused).
    Resident ID numbers are only ever shown masked.
    """
    if person is not None and person_file is not None:
        ctx.fail("give --person or --person-file, not both")
    one_person = person is not None or person_file is not None
    if roster is not None and (enterprise is None or one_person):
        ctx.fail("--roster goes with --enterprise, and without --person/--person-file")
    if enterprise is not None and roster is None and not one_person:
        ctx.fail("--enterprise needs --roster, or a person")
    if person_file is not None:
        person = read_text(person_file, "resident ID")
    if person is not None:
        _issue_one(scheme, person, enterprise)
    elif roster is not None and enterprise is not None:
        _issue_roster(scheme, enterprise, roster)
    else:
        _push(scheme)


def _issue_one(scheme: str, resident_id: str, enterprise: str | None) -> None:
    with open_app() as app_ctx:
        issued = issue_to_person(app_ctx, scheme, resident_id, enterprise)
    stdout().print(
        details(
            [
                ("voucher", str(issued.voucher_id)),
                ("scheme", issued.scheme_code),
                ("value", yuan(issued.value_fen)),
                ("valid until", show(issued.valid_until)),
            ]
        )
    )


def _push(scheme: str) -> None:
    with open_app() as app_ctx, progress_bar(f"issuing {scheme}") as bar:
        result = push_issue(app_ctx, scheme, progress=bar.fraction)
    stdout().print(
        f"issued {result.issued} vouchers; {result.eligible_left} eligible people still "
        f"without one; quota left {result.quota_left}"
    )


def _roster_lines(path: Path) -> Iterator[tuple[int, str]]:
    return ((line, row["resident_id"]) for line, row in read_rows(path, ROSTER_COLUMNS))


def _issue_roster(scheme: str, enterprise: str, roster: Path) -> None:
    lines = _roster_lines(roster)  # reads the header now: a wrong file fails before issuing
    with open_app() as app_ctx:
        outcomes = issue_for_enterprise(app_ctx, scheme, enterprise, lines)
    rows = table("line", "resident ID", "voucher id", "outcome", ids=("voucher id",))
    for o in outcomes:
        rows.add_row(str(o.line), o.masked_id, str(o.voucher_id or "-"), o.reason or "issued")
    refused = sum(1 for o in outcomes if o.voucher_id is None)
    console = stdout()
    console.print(rows)
    console.print(f"issued {len(outcomes) - refused}, refused {refused}")
    if refused:
        raise typer.Exit(EXIT_FAILED)
