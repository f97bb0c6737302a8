"""Voucher credentials: regional signing keys, signed tokens, and their QR codes."""

from skillvoucher.credentials.keys import (
    KeyInfo,
    KeyStore,
    NoSigningKey,
    SigningKey,
    load_public_keys_from_jwks,
)
from skillvoucher.credentials.qr import qr_png, qr_svg, qr_terminal
from skillvoucher.credentials.tokens import VoucherClaims, sign_voucher, verify_voucher

__all__ = [
    "KeyInfo",
    "KeyStore",
    "NoSigningKey",
    "SigningKey",
    "VoucherClaims",
    "load_public_keys_from_jwks",
    "qr_png",
    "qr_svg",
    "qr_terminal",
    "sign_voucher",
    "verify_voucher",
]
