"""Hostile voucher codes: mutations of a real signed code, forged headers and claims, garbage.

One property throughout: ``verify_voucher`` either returns the claims of an untouched genuine
code or raises a CredentialError; no other exception ever escapes (a caller maps exactly that
class to "invalid"), and nothing but the untouched code is ever valid. Claims signed with the
real key but holding hostile values must be refused the same way, never crash the decoder.

The QR path has no decoder of images: a QR code carries the same text, so text is the input.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import example, given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import OKPKey

from skillvoucher.credentials.keys import SigningKey
from skillvoucher.credentials.tokens import (
    MAX_TOKEN_CHARS,
    VOUCHER_JWT_TYPE,
    VoucherClaims,
    sign_voucher,
    verify_voucher,
)
from skillvoucher.domain.errors import CredentialError

REGION = "140100"
KEY = SigningKey("140100-20261204-a1f3", REGION, Ed25519PrivateKey.generate())
OTHER_KEY = SigningKey("140200-20261204-b2e4", "140200", Ed25519PrivateKey.generate())
PUBLIC_KEYS = {KEY.kid: KEY.public_key, OTHER_KEY.kid: OTHER_KEY.public_key}
ISSUED = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
NOW = ISSUED + timedelta(days=30)
CLAIMS = VoucherClaims(
    voucher_id="0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
    scheme_code="2026-TY-HANJIE-01",
    region_code=REGION,
    holder_ref="h_0193a1b27c3d7e4f8a9b0c1d",
    value_fen=200_000,
    valid_from=ISSUED,
    valid_until=ISSUED + timedelta(days=365),
    issued_at=ISSUED,
)
TOKEN = sign_voucher(CLAIMS, KEY)
HEADER, PAYLOAD, SIGNATURE = TOKEN.split(".")
OTHER_TOKEN = sign_voucher(dataclasses.replace(CLAIMS, region_code="140200"), OTHER_KEY)
PAYLOAD_CLAIMS: dict[str, Any] = json.loads(base64.urlsafe_b64decode(PAYLOAD + "=="))

B64URL_ALPHABET = string.ascii_letters + string.digits + "-_"
# What a mutation may put into a code: its own alphabet mostly, plus separators, padding,
# the other base64 alphabet, whitespace, NUL, non-ASCII digits and letters, and emoji.
HOSTILE_CHARS = st.one_of(
    st.sampled_from(B64URL_ALPHABET),
    st.sampled_from(list(".=+/ \t\n\r\x00é１Ａ\u200b\ufeff😀")),
    st.characters(),
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: Any) -> str:
    return b64(json.dumps(value).encode())


def refused(token: str) -> bool:
    """True when ``token`` is refused with a CredentialError; False when it verifies.

    Any other exception propagates and fails the test: that is the bug being looked for.
    """
    try:
        verify_voucher(token, PUBLIC_KEYS, NOW)
    except CredentialError:
        return True
    return False


def assert_valid_only_if_untouched(token: str) -> None:
    if token == TOKEN:
        assert verify_voucher(token, PUBLIC_KEYS, NOW) == CLAIMS
    else:
        assert refused(token), f"an altered code verified: {token!r}"


# --- mutations of a real code ------------------------------------------------------------------

EDIT = st.tuples(
    st.sampled_from(["replace", "insert", "delete"]),
    st.integers(min_value=0, max_value=len(TOKEN)),
    HOSTILE_CHARS,
)


def mutate(token: str, edits: list[tuple[str, int, str]]) -> str:
    for kind, position, char in edits:
        at = position % (len(token) + 1)
        if kind == "insert":
            token = token[:at] + char + token[at:]
        elif kind == "delete":
            token = token[:at] + token[at + 1 :]
        else:
            token = token[:at] + char + token[at + 1 :]
    return token


@settings(max_examples=300)
@given(st.lists(EDIT, min_size=1, max_size=4))
@example([("replace", len(TOKEN) - 1, "B")])  # the signature's last char, whose low bits are unused
@example([("insert", 0, "\ufeff")])  # a byte order mark pasted before the code
@example([("insert", len(TOKEN), "\n")])  # a trailing newline (the CLI strips it, verify does not)
def test_no_edit_of_a_real_code_verifies(edits: list[tuple[str, int, str]]) -> None:
    assert_valid_only_if_untouched(mutate(TOKEN, edits))


SEGMENT_POOL = [
    HEADER,
    PAYLOAD,
    SIGNATURE,
    *OTHER_TOKEN.split("."),
    "",
    "A",
    "AA",
    "A" * MAX_TOKEN_CHARS,
    b64(b"\x00" * 64),
]


@given(st.lists(st.sampled_from(SEGMENT_POOL), min_size=1, max_size=6))
def test_segments_swapped_dropped_or_repeated_never_verify(segments: list[str]) -> None:
    assert_valid_only_if_untouched(".".join(segments))


@given(st.integers(min_value=0, max_value=3 * MAX_TOKEN_CHARS), st.sampled_from([0, 1, 2]))
def test_huge_base64_segments_are_refused(size: int, which: int) -> None:
    parts = [HEADER, PAYLOAD, SIGNATURE]
    parts[which] = ("AbC-_" * (size // 5 + 1))[:size]
    assert_valid_only_if_untouched(".".join(parts))


# --- forged headers ----------------------------------------------------------------------------

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**30, -(10**30), 2**63, -1, 0])
    | st.floats()  # json.dumps writes NaN and Infinity, which Python's json.loads accepts
    | st.text(max_size=12)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
HEADER_VALUES = st.one_of(
    JSON_VALUES,
    st.sampled_from(
        ["none", "None", "NONE", "HS256", "RS256", "ES256", "Ed448", "EdDSA", "Ed25519", ""]
    ),
    st.sampled_from([KEY.kid, OTHER_KEY.kid, "../../etc/passwd", VOUCHER_JWT_TYPE, "JWT"]),
)


@given(
    st.dictionaries(
        st.sampled_from(["alg", "kid", "typ", "b64", "crit", "jku", "jwk", "x5u", "zip"]),
        HEADER_VALUES,
        max_size=6,
    ),
    st.sampled_from([SIGNATURE, "", b64(b"\x00" * 64), OTHER_TOKEN.split(".")[2]]),
)
@example({"alg": "none", "kid": KEY.kid, "typ": VOUCHER_JWT_TYPE}, "")
@example({"alg": "none", "kid": KEY.kid, "typ": VOUCHER_JWT_TYPE}, SIGNATURE)
@example({"alg": "HS256", "kid": KEY.kid, "typ": VOUCHER_JWT_TYPE}, SIGNATURE)
@example({"alg": "Ed25519", "kid": OTHER_KEY.kid, "typ": VOUCHER_JWT_TYPE}, SIGNATURE)
def test_forged_headers_over_the_real_payload_never_verify(
    header: dict[str, Any], signature: str
) -> None:
    assert_valid_only_if_untouched(f"{b64json(header)}.{PAYLOAD}.{signature}")


@given(st.sampled_from([b"[" * 2000, b"{" * 2000, b'{"a":' * 400, b"\xff\xfe\x00", b"null"]))
def test_deeply_nested_or_non_json_headers_are_refused(raw_header: bytes) -> None:
    assert_valid_only_if_untouched(f"{b64(raw_header)}.{PAYLOAD}.{SIGNATURE}")


# --- forged and hostile claims -----------------------------------------------------------------

CLAIM_NAMES = ["iss", "jti", "sub", "sch", "reg", "val", "nbf", "exp", "iat", "extra"]
CLAIM_VALUES = st.one_of(
    JSON_VALUES,
    st.sampled_from([10**30, -(10**30), 253_402_300_800, 253_402_300_799, -1, 0, 1.0, True]),
    st.sampled_from(
        ["140200", "skillvoucher:140200", "14010019900101123X", "x" * 65, "１４０１００"]
    ),
)
CLAIM_CHANGES = st.dictionaries(st.sampled_from(CLAIM_NAMES), CLAIM_VALUES, min_size=1, max_size=4)


@given(CLAIM_CHANGES)
@example({"val": 10**30})
@example({"exp": 10**30})
@example({"val": 2_000_000})  # a higher value under the original signature
def test_changed_claims_under_the_original_signature_never_verify(
    changes: dict[str, Any],
) -> None:
    payload = b64json({**PAYLOAD_CLAIMS, **changes})
    assert_valid_only_if_untouched(f"{HEADER}.{payload}.{SIGNATURE}")


def signed(payload: bytes, key: SigningKey = KEY) -> str:
    header = {"alg": "Ed25519", "kid": key.kid, "typ": VOUCHER_JWT_TYPE}
    return jws.serialize_compact(
        header, payload, OKPKey.import_key(key.private_key), algorithms=["Ed25519"]
    )


@settings(max_examples=200)
@given(CLAIM_CHANGES, st.booleans())
@example({"exp": 10**30}, False)
@example({"nbf": -(10**30)}, False)
@example({"iat": 253_402_300_800}, False)
@example({"exp": float("nan")}, False)
@example({"val": {"nested": [1, {"deeper": None}]}}, False)
@example({"reg": "140200", "iss": "skillvoucher:140200"}, False)
def test_hostile_claims_signed_with_the_real_key_never_crash(
    changes: dict[str, Any], drop_instead: bool
) -> None:
    claims = {**PAYLOAD_CLAIMS, **changes}
    if drop_instead:
        claims = {k: v for k, v in PAYLOAD_CLAIMS.items() if k not in changes}
    token = signed(json.dumps(claims).encode())
    try:
        verified = verify_voucher(token, PUBLIC_KEYS, NOW)
    except CredentialError:
        return
    # Accepted: then every claim is well typed, in range, and exactly what was signed.
    assert type(claims["val"]) is int
    assert verified.value_fen == claims["val"]
    assert verified.voucher_id == claims["jti"]
    assert verified.holder_ref == claims["sub"]
    assert verified.region_code == claims["reg"] == REGION
    assert verified.valid_from <= NOW <= verified.valid_until
    assert int(verified.valid_until.timestamp()) == claims["exp"]


@given(st.binary(max_size=600))
@example(b"")
@example(b'{"jti": "\\ud800"}')  # a lone surrogate, valid JSON but not valid text
@example(b"\xef\xbb\xbf{}")  # a BOM before the object
def test_any_signed_payload_bytes_fail_only_with_a_credential_error(payload: bytes) -> None:
    assert refused(signed(payload))


# --- arbitrary input ---------------------------------------------------------------------------


@settings(max_examples=300)
@given(st.text(alphabet=B64URL_ALPHABET + ".", max_size=700))
def test_any_base64url_looking_text_is_refused(text: str) -> None:
    assert refused(text)


@given(st.binary(max_size=700), st.sampled_from(["utf-8", "latin-1", "utf-16", "gbk", "ascii"]))
def test_any_bytes_decoded_leniently_are_refused(data: bytes, encoding: str) -> None:
    assert refused(data.decode(encoding, errors="replace"))
