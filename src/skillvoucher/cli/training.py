"""``skillvoucher enrol``, ``cancel-enrolment``, ``attend`` and ``complete``: training evidence."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from skillvoucher.application.attendance_import import record_attendance_file
from skillvoucher.application.enrolment import cancel_enrolment, enrol
from skillvoucher.application.training import record_attendance, record_completion
from skillvoucher.cli.context import open_app
from skillvoucher.cli.errors import EXIT_FAILED
from skillvoucher.cli.output import details, problems_table, progress_bar, stdout, yuan
from skillvoucher.cli.params import parse_moment
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import SkillLevel

VoucherId = Annotated[uuid.UUID, typer.Argument(metavar="VOUCHER_ID", help="The voucher id.")]


def enrol_command(
    voucher_id: VoucherId,
    institution: Annotated[
        str, typer.Option(metavar="CREDIT_CODE", help="The institution's credit code.")
    ],
    course: Annotated[str, typer.Option(metavar="COURSE_CODE", help="The course code.")],
    consent: Annotated[
        str, typer.Option(metavar="CODE", help="The holder's six-digit consent code.")
    ],
) -> None:
    """Enrol an issued voucher on a course, with the holder's consent code.

    To undo an enrolment before training starts, use `skillvoucher cancel-enrolment`.
    """
    with open_app() as ctx:
        receipt = enrol(ctx, voucher_id, institution, course, consent)
    stdout().print(
        details(
            [
                ("enrolment", str(receipt.enrolment_id)),
                ("course", receipt.course_code),
                ("voucher pays", yuan(receipt.voucher_pays_fen)),
                ("holder pays", yuan(receipt.holder_pays_fen)),
            ]
        )
    )


def cancel_enrolment_command(
    voucher_id: VoucherId,
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")],
) -> None:
    """Cancel an enrolment before training starts; the voucher is issued again if still valid."""
    with open_app() as ctx:
        cancel_enrolment(ctx, voucher_id, reason)
    stdout().print(f"enrolment of voucher {voucher_id} cancelled")


def attend_command(
    ctx: typer.Context,
    voucher_id: Annotated[
        uuid.UUID | None, typer.Argument(metavar="VOUCHER_ID", help="The voucher id.")
    ] = None,
    source: Annotated[AttendanceSource | None, typer.Option(help="How it was checked.")] = None,
    minutes: Annotated[int | None, typer.Option(help="Minutes attended or learnt.")] = None,
    at: Annotated[
        datetime | None,
        typer.Option(
            parser=parse_moment,
            metavar="ISO8601",
            help="When, with its UTC offset, e.g. 2026-12-01T09:00+08:00 (default: now).",
        ),
    ] = None,
    device: Annotated[str | None, typer.Option(metavar="ID", help="The device's id.")] = None,
    file: Annotated[
        Path | None,
        typer.Option(
            help="Record a CSV/XLSX of events instead: voucher_id, source, minutes, "
            "occurred_at and optionally device_id. Re-runnable: duplicates are ignored."
        ),
    ] = None,
) -> None:
    """Record attendance: one event, or a file of them (bad rows by line, exit 1)."""
    if file is not None:
        if any(v is not None for v in (voucher_id, source, minutes, at, device)):
            ctx.fail("--file takes no voucher id, --source, --minutes, --at or --device")
        _attend_file(file)
        return
    if voucher_id is None or source is None or minutes is None:
        ctx.fail("give VOUCHER_ID, --source and --minutes (or --file FILE)")
    with open_app() as app_ctx:
        receipt = record_attendance(
            app_ctx, voucher_id, source, at or app_ctx.clock(), minutes, device
        )
    what = "recorded" if receipt.recorded else "already recorded, ignored"
    stdout().print(
        f"{what}; attended {receipt.attended_minutes} min ({receipt.attendance_percent}%)"
    )


def _attend_file(file: Path) -> None:
    with open_app() as app_ctx, progress_bar("recording attendance") as bar:
        report = record_attendance_file(app_ctx, file, bar.count)
    console = stdout()
    console.print(
        f"recorded {report.recorded}, duplicates ignored {report.duplicates}, "
        f"rejected {len(report.problems)}"
    )
    if report.problems:
        console.print(problems_table(report.problems, show_keys=True))
        raise typer.Exit(EXIT_FAILED)


def complete_command(
    voucher_id: VoucherId,
    certificate: Annotated[
        str | None, typer.Option(metavar="NO", help="The skill certificate number.")
    ] = None,
    level: Annotated[
        SkillLevel | None, typer.Option(help="The certificate's level (with --certificate).")
    ] = None,
) -> None:
    """Record that training is complete, with the certificate if there is one.

    A completed voucher can receive its certificate later by running this again.
    """
    with open_app() as ctx:
        status = record_completion(ctx, voucher_id, certificate, level)
    stdout().print(f"voucher {voucher_id} is {status.value}")
