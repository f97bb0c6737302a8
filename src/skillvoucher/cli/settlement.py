"""``skillvoucher settle``: build, approve, publish, export, pay and reconcile settlement
batches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from skillvoucher.application.settlement import run_settlement
from skillvoucher.application.settlement_batches import (
    BatchSummary,
    approve_batch,
    export_payment_file,
    list_batches,
    mark_batch_paid,
    publish_batch,
    reconcile,
)
from skillvoucher.cli.context import open_app
from skillvoucher.cli.errors import EXIT_FAILED
from skillvoucher.cli.output import progress_bar, stdout, table, yuan
from skillvoucher.cli.params import parse_day
from skillvoucher.domain.settlement import BatchStatus
from skillvoucher.domain.timekeeping import show

app = typer.Typer(invoke_without_command=True)

BatchId = Annotated[uuid.UUID, typer.Argument(metavar="BATCH_ID", help="The batch id.")]


def _batches_table(batches: Sequence[BatchSummary]) -> None:
    rows = table(
        "batch id",
        "institution",
        "period",
        "status",
        "lines",
        "total",
        ids=("batch id",),
        numbers=("lines", "total"),
    )
    for b in batches:
        rows.add_row(
            str(b.batch_id),
            f"{b.institution_code} {b.institution_name}",
            f"{b.period_start} to {b.period_end}",
            b.status.value,
            str(b.line_count),
            yuan(b.total_fen),
        )
    stdout().print(rows)


@app.callback()
def settle(
    ctx: typer.Context,
    period_from: Annotated[
        date | None,
        typer.Option("--from", parser=parse_day, metavar="DATE", help="First day of the period."),
    ] = None,
    period_to: Annotated[
        date | None,
        typer.Option("--to", parser=parse_day, metavar="DATE", help="Last day (inclusive)."),
    ] = None,
    institution: Annotated[
        str | None, typer.Option(metavar="CREDIT_CODE", help="Only this institution.")
    ] = None,
) -> None:
    """Settlement batches: build for a period, approve, publish, export, mark paid, reconcile.

    `skillvoucher settle --from DATE --to DATE [--institution CODE]` builds one draft batch per
    institution for the period, paying the stages each voucher has earned; re-running it
    creates nothing twice. The commands below take batches on from there.
    """
    given = period_from is not None or period_to is not None or institution is not None
    if ctx.invoked_subcommand is not None:
        if given:
            ctx.fail(f"--from, --to and --institution do not go with `{ctx.invoked_subcommand}`")
        return
    if period_from is None or period_to is None:
        ctx.fail("give --from DATE and --to DATE, or a command (see --help)")
    with open_app() as app_ctx, progress_bar("settling institutions") as bar:
        run = run_settlement(app_ctx, period_from, period_to, institution, bar.fraction)
    console = stdout()
    if run.created:
        _batches_table(run.created)
    console.print(
        f"{len(run.created)} batch(es) built, {run.already_settled} existed already for this "
        f"period; {run.vouchers_settled} voucher(s) fully settled"
        + (f"; {run.suspended} suspended institution(s) skipped" if run.suspended else "")
    )


@app.command("list")
def list_command(
    status: Annotated[BatchStatus | None, typer.Option(help="Only batches in this status.")] = None,
) -> None:
    """List settlement batches."""
    with open_app() as ctx:
        batches = list_batches(ctx, status)
    _batches_table(batches)


@app.command("approve")
def approve(
    batch_id: BatchId,
    approver: Annotated[str, typer.Option(metavar="NAME", help="Who approves it.")],
) -> None:
    """Approve a draft batch, so that it can be published; a large batch needs a second
    approval by another person."""
    with open_app() as ctx:
        batch = approve_batch(ctx, batch_id, approver)
    if batch.status is BatchStatus.APPROVED_ONCE:
        stdout().print(
            f"batch {batch.batch_id} approved once: {yuan(batch.total_fen)} needs a second "
            "approval by another person"
        )
    else:
        stdout().print(f"batch {batch.batch_id} approved: {yuan(batch.total_fen)}")


@app.command("publish")
def publish(batch_id: BatchId) -> None:
    """Put an approved batch on public notice; it can be exported now and paid after it."""
    with open_app() as ctx:
        batch = publish_batch(ctx, batch_id)
    stdout().print(
        f"batch {batch.batch_id} published: {yuan(batch.total_fen)}, "
        f"on notice until {show(batch.notice_until)}"
    )


@app.command("export")
def export(
    batch_ids: Annotated[
        list[uuid.UUID], typer.Argument(metavar="BATCH_ID...", help="Published batches.")
    ],
    out: Annotated[Path, typer.Option(metavar="FILE.csv", help="The payment file to write.")],
) -> None:
    """Write the treasury's payment file (CSV) for published batches."""
    with open_app() as ctx:
        written = export_payment_file(ctx, batch_ids, out)
    stdout().print(f"wrote {written} batch(es) to {out}")


@app.command("paid")
def paid(
    batch_id: BatchId,
    reference: Annotated[
        str, typer.Option(metavar="REF", help="The treasury's payment reference.")
    ],
) -> None:
    """Record that the treasury paid a published batch whose notice is over."""
    with open_app() as ctx:
        batch = mark_batch_paid(ctx, batch_id, reference)
    stdout().print(f"batch {batch.batch_id} paid: {yuan(batch.total_fen)}")


@app.command("reconcile")
def reconcile_command() -> None:
    """Tie each batch to its lines and to the ledger; exit 1 if any disagrees."""
    with open_app() as ctx:
        rows = reconcile(ctx)
    amounts = ("total", "lines", "payable posted", "paid posted")
    result = table("batch id", "status", *amounts, "agrees", ids=("batch id",), numbers=amounts)
    for r in rows:
        result.add_row(
            str(r.batch_id),
            r.status.value,
            yuan(r.total_fen),
            yuan(r.lines_fen),
            yuan(r.payable_posted_fen),
            yuan(r.paid_posted_fen),
            "yes" if r.agrees else "NO",
        )
    console = stdout()
    console.print(result)
    disagreeing = sum(1 for r in rows if not r.agrees)
    console.print(f"{len(rows)} batch(es), {disagreeing} disagreeing")
    if disagreeing:
        raise typer.Exit(EXIT_FAILED)
