"""Offline verification of voucher codes (issue 5, point 7).

The rate of ``credentials.tokens.verify_voucher`` — what an institution's scanner runs on a
code with no network: parse the JWS, hold the header to the profile, check the Ed25519
signature, decode and validate the claims, check validity — against the raw rate of
``cryptography``'s Ed25519 verify of the same signature over the same signing input, measured
in alternating rounds of the same run. No database is involved.
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from joserfc.util import urlsafe_b64decode, urlsafe_b64encode

from benchmarks.outcome import Check, Comparison, Figure, Outcome
from benchmarks.timing import paired_rates
from skillvoucher.credentials.keys import KeyStore
from skillvoucher.credentials.tokens import VoucherClaims, sign_voucher, verify_voucher
from skillvoucher.domain.errors import BadSignature
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.timekeeping import utc_now

GOAL_SHARE = 0.70


def _claims() -> VoucherClaims:
    now = utc_now().replace(microsecond=0)
    return VoucherClaims(
        voucher_id=str(new_id()),
        scheme_code="SX-2026-TARGET",
        region_code="140000",
        holder_ref=new_id().hex,
        value_fen=200_000,
        valid_from=now - timedelta(days=1),
        valid_until=now + timedelta(days=179),
        issued_at=now - timedelta(days=1),
    )


def _tampered(code: str) -> str:
    """The same code with its value raised and the original signature kept."""
    header, payload, signature = code.split(".")
    claims = json.loads(urlsafe_b64decode(payload.encode("ascii")))
    claims["val"] *= 10
    forged = urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode()
    return f"{header}.{forged}.{signature}"


def run(seconds: float, rounds: int) -> Outcome:
    started = time.perf_counter()
    outcome = Outcome("verification", "Offline verification of voucher codes", "no database")
    with tempfile.TemporaryDirectory() as directory:
        keys = KeyStore(Path(directory))
        key = keys.generate("140000")
        claims = _claims()
        code = sign_voucher(claims, key)
        public_keys = keys.public_keys()
    now = utc_now()
    header, payload, signature = code.encode("ascii").split(b".")
    signing_input, raw_signature = header + b"." + payload, urlsafe_b64decode(signature)
    public_key = public_keys[key.kid]

    def raw() -> None:
        public_key.verify(raw_signature, signing_input)

    def verify() -> None:
        verify_voucher(code, public_keys, now)

    measured, baseline = paired_rates(verify, raw, seconds, rounds)
    share = measured / baseline if baseline else 0.0
    outcome.figures += [
        Figure("code length", len(code), "characters"),
        Figure("verify_voucher", measured, "codes/s (one core)"),
        Figure("raw Ed25519 verify (cryptography)", baseline, "verifies/s (one core)"),
        Figure(
            "cost of the checks around the signature",
            (1 / measured - 1 / baseline) * 1e6,
            "µs/code",
        ),
    ]
    outcome.comparisons.append(
        Comparison(
            "verify_voucher ÷ raw Ed25519 (rate)",
            f"{measured:,.0f}/s",
            f"{baseline:,.0f}/s",
            share,
            f"≥ {GOAL_SHARE:.0%}",
            share >= GOAL_SHARE,
        )
    )
    outcome.checks.append(
        Check(
            "a genuine code verifies to its claims",
            verify_voucher(code, public_keys, now) == claims,
            "claims equal",
        )
    )
    try:
        verify_voucher(_tampered(code), public_keys, now)
        refused = False
    except BadSignature:
        refused = True
    try:
        public_key.verify(raw_signature, signing_input + b"x")
        raw_refused = False
    except InvalidSignature:
        raw_refused = True
    outcome.checks.append(
        Check(
            "an altered code is refused",
            refused and raw_refused,
            "BadSignature and InvalidSignature",
        )
    )
    outcome.seconds = time.perf_counter() - started
    return outcome
