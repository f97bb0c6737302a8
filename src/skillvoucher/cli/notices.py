"""``skillvoucher notices``: send the holders' notices waiting in the outbox."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from skillvoucher.application.notice_channels import channels_from_settings, close_channels
from skillvoucher.application.notice_delivery import DeliveryReport, deliver_pending, notice_counts
from skillvoucher.cli.context import open_app
from skillvoucher.cli.output import progress_bar, stdout

app = typer.Typer(help="Notices to voucher holders (e-SSC message box, SMS).", no_args_is_help=True)


@app.command("deliver")
def deliver(
    once: Annotated[bool, typer.Option("--once", help="Send what is due now, then stop.")] = False,
    batch: Annotated[int, typer.Option(min=1, max=5000, help="Notices claimed per pass.")] = 200,
    interval: Annotated[
        float, typer.Option(min=0.5, help="Seconds between passes when nothing was due.")
    ] = 15.0,
) -> None:
    """Send due notices through the log and each configured channel
    (SKILLVOUCHER_NOTICE_ESSC_URL, SKILLVOUCHER_NOTICE_SMS_URL), retrying failures with
    backoff. Several deliverers may run at once: each notice is claimed by one."""
    console = stdout()
    totals = DeliveryReport()
    with open_app() as ctx:
        channels = channels_from_settings(ctx.settings)
        try:
            while True:
                with progress_bar("Sending notices") as bar:
                    report = deliver_pending(ctx, channels, batch, progress=bar.fraction)
                totals = DeliveryReport(
                    *(a + b for a, b in zip(_figures(totals), _figures(report), strict=True))
                )
                if report.claimed == 0:
                    if once:
                        break
                    time.sleep(interval)
        finally:
            close_channels(channels)
        counts = notice_counts(ctx)
    console.print(
        f"claimed {totals.claimed}, delivered {totals.delivered}, retrying {totals.retrying}, "
        f"given up {totals.given_up}; outbox now: "
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )


def _figures(report: DeliveryReport) -> tuple[int, int, int, int]:
    return (report.claimed, report.delivered, report.retrying, report.given_up)
