"""Check a voucher code the way an institution does: signature offline first, then its status."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from skillvoucher.application.context import AppContext
from skillvoucher.credentials.tokens import VoucherClaims, verify_voucher
from skillvoucher.domain.errors import NotFound
from skillvoucher.domain.vouchers import VoucherStatus


@dataclass(frozen=True)
class VerifiedVoucher:
    claims: VoucherClaims
    status: VoucherStatus  # what the ledger of record says now: the code may outlive its use


def verify_code(ctx: AppContext, code: str) -> VerifiedVoucher:
    """Raise a CredentialError for a forged, altered, expired or unknown-key code, NotFound for
    a well-signed code of a voucher this deployment does not hold; else the claims and status."""
    claims = verify_voucher(code, ctx.keys.verifying_keys(), ctx.clock())
    try:
        voucher_id = uuid.UUID(claims.voucher_id)
    except ValueError:
        # Genuinely signed, but not an id this deployment issues: held by no voucher here.
        raise NotFound(f"voucher {claims.voucher_id} is not held here") from None
    # The status may come from the read replica, a moment behind the primary: a voucher enrolled
    # a second ago can still read "issued" here. That is harmless because enrolling re-checks
    # the status on the primary inside its own transaction; verification only informs.
    with ctx.read_unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
    if voucher is None and ctx.read_engine is not None:
        # A genuinely signed code the replica lacks is most likely a voucher issued since its
        # last replay: ask the primary before calling it foreign. Forged codes never get here.
        with ctx.unit_of_work() as uow:
            voucher = uow.vouchers.get(voucher_id)
    if voucher is None:
        raise NotFound(f"voucher {claims.voucher_id} is not held here")
    return VerifiedVoucher(claims, voucher.status)
