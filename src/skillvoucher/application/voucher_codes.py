"""A voucher's signed code (what its QR code holds), signed the first time it is shown.

A claim or an enterprise request signs its one voucher at issue. A push leaves its vouchers
unsigned (``issuance._write_pushed``): at about 32 µs a signature per core, signing a million
vouchers up front would cost more than writing them. The claims are the voucher row's own
fields, fixed at issue, so a code signed later says exactly what one signed at issue would
(only the key may be newer, if the region's key was rotated meanwhile, and every key stays
published for verifiers).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from skillvoucher.application.context import AppContext
from skillvoucher.credentials.tokens import VoucherClaims, sign_voucher
from skillvoucher.domain.errors import NotFound


def issued_claims(
    voucher_id: uuid.UUID,
    scheme_code: str,
    region_code: str,
    person_id: uuid.UUID,
    value_fen: int,
    issued_at: datetime,
    valid_until: datetime,
) -> VoucherClaims:
    """What a voucher's code asserts: valid from the moment of issue, the holder named by
    their opaque registry id."""
    return VoucherClaims(
        voucher_id=str(voucher_id),
        scheme_code=scheme_code,
        region_code=region_code,
        holder_ref=str(person_id),
        value_fen=value_fen,
        valid_from=issued_at,
        valid_until=valid_until,
        issued_at=issued_at,
    )


def voucher_code(ctx: AppContext, voucher_id: uuid.UUID) -> str:
    """The voucher's signed code: the stored one, or, the first time, signed now with the
    region's active key and stored, in a transaction of its own.

    Idempotent: when two first views race, the first code stored is kept and both get it.
    """
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        if voucher is None:
            raise NotFound(f"voucher {voucher_id} is not known")
        if voucher.credential is not None:
            return voucher.credential
        scheme = uow.schemes.get(voucher.scheme_id)
        assert scheme is not None  # foreign key
        key = ctx.keys.ensure_active_key(voucher.region_code)
        code = sign_voucher(
            issued_claims(
                voucher.id,
                scheme.code,
                voucher.region_code,
                voucher.person_id,
                voucher.face_value_fen,
                voucher.issued_at,
                voucher.valid_until,
            ),
            key,
        )
        if uow.vouchers.store_credential(voucher_id, key.kid, code):
            uow.commit()
            return code
    # Another first view stored its code after this one read the row: that one stands.
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        assert voucher is not None
        assert voucher.credential is not None
        return voucher.credential
