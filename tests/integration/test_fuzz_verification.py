"""`verify_code` (POST /api/v1/vouchers/verify, the institution's check) on genuinely signed
codes whose claims this deployment never issues: NotFound or a CredentialError, never a crash.

The offline decoder is fuzzed in tests/unit/test_fuzz_credentials.py; this adds the step
after it, which turns the signed voucher id into a database lookup.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from builders import CITY, Clock
from skillvoucher.application.context import AppContext
from skillvoucher.application.verification import verify_code
from skillvoucher.credentials.tokens import VoucherClaims, sign_voucher
from skillvoucher.domain.errors import CredentialError, InvalidInput, NotFound


def test_signed_codes_of_unknown_vouchers_are_not_found(ctx: AppContext, clock: Clock) -> None:
    key = ctx.keys.ensure_active_key(CITY)

    @settings(
        max_examples=40 if ctx.engine.dialect.name == "sqlite" else 15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(st.one_of(st.text(min_size=1, max_size=64), st.uuids().map(str)))
    @example("not-a-uuid")  # was ValueError from uuid.UUID: a 500 from the API
    @example("{" + str(uuid.UUID(int=1)) + "}")
    @example("urn:uuid:" + str(uuid.UUID(int=2)))
    def run(voucher_id: str) -> None:
        try:
            claims = VoucherClaims(
                voucher_id=voucher_id,
                scheme_code="2026-TY-HANJIE-01",
                region_code=CITY,
                holder_ref="h_0193a1b27c3d7e4f8a9b0c1d",
                value_fen=200_000,
                valid_from=clock.now - timedelta(days=1),
                valid_until=clock.now + timedelta(days=1),
                issued_at=clock.now - timedelta(days=1),
            )
        except InvalidInput:
            return  # claims that would never be signed
        try:
            verify_code(ctx, sign_voucher(claims, key))
        except (NotFound, CredentialError):
            return
        raise AssertionError(f"voucher {voucher_id!r} was found, yet none was issued")

    run()
