"""``skillvoucher audit``: prove the audit trail has not been edited, cut or reordered."""

from __future__ import annotations

import typer

from skillvoucher.application.audit_verify import verify_audit_chain
from skillvoucher.cli.context import open_app
from skillvoucher.cli.errors import EXIT_FAILED
from skillvoucher.cli.output import progress_bar, stdout, table

app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)


@app.command("verify")
def verify() -> None:
    """Walk every province's hash chain; exit 1 naming the first bad event of each broken one."""
    with open_app() as ctx, progress_bar("Verifying the audit chains") as bar:
        result = verify_audit_chain(ctx, progress=bar.count)
    console = stdout()
    if result.intact:
        console.print(
            f"audit trail intact: {result.events:,} events in {result.chains} chains"
            + (
                f" ({result.unchained:,} older events predate the chain)"
                if result.unchained
                else ""
            )
        )
        return
    rows = table("province", "seq", "event", "what is wrong", ids=["event"])
    for found in result.breaks:
        rows.add_row(
            found.province_code,
            "" if found.seq is None else str(found.seq),
            found.event_id or "",
            found.reason,
        )
    console.print(rows)
    console.print(f"audit trail BROKEN in {len(result.breaks)} of {result.chains} chains")
    raise typer.Exit(EXIT_FAILED)
