"""``skillvoucher institution``: suspend an institution (enrolment and unpaid settlement stop)
or reinstate it, as the operator."""

from __future__ import annotations

from typing import Annotated

import typer

from skillvoucher.application.risk_flags import (
    MAX_REASON_LENGTH,
    reinstate_institution_by_code,
    suspend_institution_by_code,
)
from skillvoucher.cli.context import open_app
from skillvoucher.cli.output import stdout

app = typer.Typer(help="Suspend or reinstate training institutions.", no_args_is_help=True)

CreditCode = Annotated[
    str, typer.Argument(metavar="CREDIT_CODE", help="The institution's credit code.")
]


@app.command("suspend")
def suspend(
    credit_code: CreditCode,
    reason: Annotated[
        str, typer.Option(metavar="TEXT", help=f"Why (up to {MAX_REASON_LENGTH} characters).")
    ],
) -> None:
    """Suspend an approved institution: it takes no new enrolment, settlement runs skip it and
    its unpaid batches cannot be approved, published, exported or paid until reinstated."""
    with open_app() as ctx:
        standing = suspend_institution_by_code(ctx, credit_code, reason)
    stdout().print(f"institution {standing.credit_code} {standing.name} suspended: {reason}")


@app.command("reinstate")
def reinstate(credit_code: CreditCode) -> None:
    """Lift a suspension: the institution is approved again."""
    with open_app() as ctx:
        standing = reinstate_institution_by_code(ctx, credit_code)
    stdout().print(f"institution {standing.credit_code} {standing.name} reinstated")
