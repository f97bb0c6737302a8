"""``skillvoucher voucher``: look at a voucher, show its QR code, verify a code offline, consent,
revoke; and ``skillvoucher expire``."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated

import typer

from skillvoucher.application.enrolment import grant_consent
from skillvoucher.application.lifecycle import (
    claw_back_voucher,
    expire_vouchers,
    revoke_voucher,
)
from skillvoucher.application.voucher_codes import voucher_code
from skillvoucher.application.voucher_views import VoucherDetails, voucher_details
from skillvoucher.cli.context import open_app, open_key_store
from skillvoucher.cli.output import details, progress_bar, stderr, stdout, yuan
from skillvoucher.cli.params import STDIN, read_text
from skillvoucher.credentials.keys import load_public_keys_from_jwks
from skillvoucher.credentials.qr import qr_png, qr_svg, qr_terminal
from skillvoucher.credentials.tokens import verify_voucher
from skillvoucher.domain.errors import InvalidInput
from skillvoucher.domain.timekeeping import show, utc_now

app = typer.Typer(
    help="Vouchers: show, QR code, offline verification, holder consent, revocation, claw-back.",
    no_args_is_help=True,
)

VoucherId = Annotated[uuid.UUID, typer.Argument(metavar="VOUCHER_ID", help="The voucher id.")]


def _detail_rows(v: VoucherDetails) -> list[tuple[str, str]]:
    rows = [
        ("voucher", str(v.voucher_id)),
        ("status", v.status.value),
        ("scheme", f"{v.scheme_code}  {v.scheme_name}"),
        ("region", v.region_code),
        ("value", yuan(v.face_value_fen)),
        ("issued", show(v.issued_at)),
        ("valid until", show(v.valid_until)),
        ("holder", v.holder_id_masked),
        ("mobile", v.holder_mobile_masked or "-"),
        ("target group", v.target_group or "-"),
        ("signing key", v.key_id or "-"),
    ]
    if v.course is not None:
        c = v.course
        rows += [
            ("institution", f"{c.institution_code}  {c.institution_name}"),
            ("course", f"{c.course_code}  {c.course_name} ({c.hours} h, {yuan(c.price_fen)})"),
        ]
    if v.enrolment is not None:
        e = v.enrolment
        rows += [
            ("enrolled", show(e.enrolled_at)),
            ("voucher pays", yuan(e.voucher_pays_fen)),
            ("attended", f"{e.attended_minutes} min ({e.attendance_percent}%)"),
        ]
    if v.completed_at is not None:
        rows.append(("completed", show(v.completed_at)))
    if v.certificate_no is not None:
        level = v.certificate_level.value if v.certificate_level else "-"
        rows.append(("certificate", f"{v.certificate_no} (level {level})"))
    if v.closed_at is not None:
        rows.append(("closed", show(v.closed_at)))
    return rows


@app.command("show")
def show_command(voucher_id: VoucherId) -> None:
    """Status, scheme, value, validity, the holder (masked), course and enrolment."""
    with open_app() as ctx:
        found = voucher_details(ctx, voucher_id)
    stdout().print(details(_detail_rows(found)))


@app.command("qr")
def qr_command(
    voucher_id: VoucherId,
    png: Annotated[Path | None, typer.Option(help="Write the QR code to this PNG file.")] = None,
    svg: Annotated[Path | None, typer.Option(help="Write the QR code to this SVG file.")] = None,
    text: Annotated[
        bool, typer.Option("--text", help="Print the credential text (what the QR code holds).")
    ] = False,
    scale: Annotated[int, typer.Option(help="Pixels per module in PNG/SVG.")] = 4,
) -> None:
    """The voucher's signed credential as a QR code: drawn in the terminal by default."""
    with open_app() as ctx:
        credential = voucher_code(ctx, voucher_id)  # signed now if first shown (pushed)
    # Notes on stderr: stdout carries only the credential or the terminal QR code.
    notes = stderr()
    if png is not None:
        png.write_bytes(qr_png(credential, scale))
        notes.print(f"wrote {png}")
    if svg is not None:
        svg.write_text(qr_svg(credential, scale), encoding="utf-8")
        notes.print(f"wrote {svg}")
    if text:
        typer.echo(credential)
    if png is None and svg is None and not text:
        typer.echo(qr_terminal(credential), nl=False)


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    code: Annotated[
        str | None,
        typer.Argument(metavar="CODE", help="The credential text, or - to read it from stdin."),
    ] = None,
    file: Annotated[Path | None, typer.Option(help="Read the credential from this file.")] = None,
    jwks: Annotated[
        Path | None,
        typer.Option(help="Published public keys (JWKS JSON); default: the local key store."),
    ] = None,
) -> None:
    """Verify a voucher code offline, with public keys only; no database is needed.

    Prints the claims and exits 0 when genuine and valid now; otherwise prints
    "invalid: <reason>" and exits 3.
    """
    if file is not None and code is None:
        token = read_text(file, "voucher code")
    elif code is not None and file is None:
        token = read_text(STDIN, "voucher code") if code == STDIN else code
    else:
        ctx.fail("give the code, - for stdin, or --file FILE (one of them)")
    keys = load_public_keys_from_jwks(jwks) if jwks is not None else open_key_store().public_keys()
    if not keys:
        raise InvalidInput("no public keys here: give --jwks FILE from `skillvoucher keys export`")
    claims = verify_voucher(token.strip(), keys, utc_now())
    stdout().print(
        details(
            [
                ("valid", "yes: genuine, and valid now"),
                ("voucher", claims.voucher_id),
                ("scheme", claims.scheme_code),
                ("region", claims.region_code),
                ("holder ref", claims.holder_ref),
                ("value", yuan(claims.value_fen)),
                ("valid from", show(claims.valid_from)),
                ("valid until", show(claims.valid_until)),
                ("issued", show(claims.issued_at)),
            ]
        )
    )


@app.command("consent")
def consent_command(voucher_id: VoucherId) -> None:
    """Simulate the holder's e-SSC app: a six-digit consent code for one enrolment."""
    with open_app() as ctx:
        grant = grant_consent(ctx, voucher_id)
    stdout().print(details([("consent code", grant.code), ("valid until", show(grant.expires_at))]))


@app.command("revoke")
def revoke_command(
    voucher_id: VoucherId,
    reason: Annotated[str, typer.Option(help="Why, for the audit trail.")],
) -> None:
    """Revoke a voucher that has not completed; its unspent value returns to the scheme."""
    with open_app() as ctx:
        released = revoke_voucher(ctx, voucher_id, reason)
    stdout().print(f"voucher {voucher_id} revoked; {yuan(released)} returned to the scheme")


@app.command("clawback")
def clawback_command(
    voucher_id: VoucherId,
    reason: Annotated[str, typer.Option(help="What was found, for the audit trail.")],
) -> None:
    """Take back what a voucher earned (paid or payable) with reversal entries, and revoke it."""
    with open_app() as ctx:
        recovered = claw_back_voucher(ctx, voucher_id, reason)
    stdout().print(f"voucher {voucher_id} clawed back; {yuan(recovered)} returned to the scheme")


def expire_command() -> None:
    """Expire every issued voucher past its validity (safe to re-run at any time)."""
    with open_app() as ctx, progress_bar("expiring vouchers") as bar:
        expired = expire_vouchers(ctx, progress=bar.count)
    stdout().print(f"expired {expired} vouchers")
