"""Voucher credentials: signing, offline verification, attacks on it, and QR rendering."""

from __future__ import annotations

import dataclasses
import json
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jws, jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import OctKey, OKPKey
from joserfc.util import json_b64encode, urlsafe_b64decode, urlsafe_b64encode

from skillvoucher.credentials.keys import KeyStore, SigningKey, load_public_keys_from_jwks
from skillvoucher.credentials.qr import qr_png, qr_svg, qr_terminal
from skillvoucher.credentials.tokens import (
    MAX_TOKEN_CHARS,
    VOUCHER_JWT_TYPE,
    VoucherClaims,
    sign_voucher,
    verify_voucher,
)
from skillvoucher.domain.errors import (
    BadSignature,
    CredentialError,
    CredentialExpired,
    CredentialNotYetValid,
    InvalidInput,
    MalformedCredential,
    UnknownSigningKey,
)

REGION = "140100"
KEY = SigningKey("140100-20261204-a1f3", REGION, Ed25519PrivateKey.generate())
PUBLIC_KEYS = {KEY.kid: KEY.public_key}
ISSUED = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
NOW = ISSUED + timedelta(days=30)


def make_claims(**changes: Any) -> VoucherClaims:
    claims = VoucherClaims(
        voucher_id="0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
        scheme_code="2026-TY-HANJIE-01",
        region_code=REGION,
        holder_ref="h_0193a1b27c3d7e4f8a9b0c1d",
        value_fen=200_000,
        valid_from=ISSUED,
        valid_until=ISSUED + timedelta(days=365),
        issued_at=ISSUED,
    )
    return dataclasses.replace(claims, **changes)


TOKEN = sign_voucher(make_claims(), KEY)


def payload_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = json.loads(urlsafe_b64decode(token.split(".")[1].encode()))
    return claims


def signed_by_hand(
    header: dict[str, Any], payload: dict[str, Any], key: SigningKey = KEY, alg: str = "Ed25519"
) -> str:
    """A token with arbitrary header and claims, signed by ``key`` through joserfc."""
    return jws.serialize_compact(
        {"alg": alg, **header},
        json.dumps(payload),
        OKPKey.import_key(key.private_key),
        algorithms=[alg],
    )


def standard_header(**changes: Any) -> dict[str, Any]:
    return {"kid": KEY.kid, "typ": VOUCHER_JWT_TYPE, **changes}


# --- the happy path -------------------------------------------------------------------------


def test_sign_and_verify_round_trip() -> None:
    assert verify_voucher(TOKEN, PUBLIC_KEYS, NOW) == make_claims()


def test_token_is_a_standard_jwt_with_compact_claims() -> None:
    header = jws.extract_compact(TOKEN.encode()).headers()

    assert header == {"alg": "Ed25519", "kid": KEY.kid, "typ": "vnd.skillvoucher.voucher+jwt"}
    assert payload_of(TOKEN) == {
        "iss": "skillvoucher:140100",
        "jti": "0193a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
        "sub": "h_0193a1b27c3d7e4f8a9b0c1d",
        "sch": "2026-TY-HANJIE-01",
        "reg": "140100",
        "val": 200_000,
        "nbf": int(ISSUED.timestamp()),
        "exp": int((ISSUED + timedelta(days=365)).timestamp()),
        "iat": int(ISSUED.timestamp()),
    }
    assert len(TOKEN) < 600


def test_an_independent_jwt_library_call_accepts_the_token() -> None:
    decoded = jwt.decode(TOKEN, OKPKey.import_key(KEY.public_key), algorithms=["Ed25519"])

    assert decoded.claims["jti"] == make_claims().voucher_id


def test_times_travel_as_whole_seconds_rounded_down() -> None:
    claims = make_claims(valid_until=ISSUED + timedelta(days=1, microseconds=999_999))

    verified = verify_voucher(sign_voucher(claims, KEY), PUBLIC_KEYS, NOW - timedelta(days=29))

    assert verified.valid_until == ISSUED + timedelta(days=1)


def test_times_in_any_zone_verify_as_the_same_instants() -> None:
    shanghai = ISSUED.astimezone(ZoneInfo("Asia/Shanghai"))
    claims = make_claims(valid_from=shanghai, issued_at=shanghai)

    verified = verify_voucher(sign_voucher(claims, KEY), PUBLIC_KEYS, NOW)

    assert verified == claims
    assert verified.valid_from.tzinfo is UTC


# --- validity window ------------------------------------------------------------------------


def test_valid_until_is_inclusive() -> None:
    until = make_claims().valid_until

    assert verify_voucher(TOKEN, PUBLIC_KEYS, until) == make_claims()
    with pytest.raises(CredentialExpired, match="expired at"):
        verify_voucher(TOKEN, PUBLIC_KEYS, until + timedelta(microseconds=1))


def test_valid_from_is_inclusive() -> None:
    assert verify_voucher(TOKEN, PUBLIC_KEYS, ISSUED) == make_claims()
    with pytest.raises(CredentialNotYetValid, match="valid from"):
        verify_voucher(TOKEN, PUBLIC_KEYS, ISSUED - timedelta(seconds=1))


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        verify_voucher(TOKEN, PUBLIC_KEYS, NOW.replace(tzinfo=None))


# --- keys -----------------------------------------------------------------------------------


def test_unknown_kid_is_reported() -> None:
    other = SigningKey("140100-20270101-beef", REGION, Ed25519PrivateKey.generate())

    with pytest.raises(UnknownSigningKey, match="140100-20270101-beef"):
        verify_voucher(sign_voucher(make_claims(), other), PUBLIC_KEYS, NOW)


def test_a_different_key_under_the_same_kid_is_a_bad_signature() -> None:
    forger = SigningKey(KEY.kid, REGION, Ed25519PrivateKey.generate())

    with pytest.raises(BadSignature):
        verify_voucher(sign_voucher(make_claims(), forger), PUBLIC_KEYS, NOW)


def test_a_key_of_one_region_cannot_sign_for_another() -> None:
    with pytest.raises(InvalidInput, match="each region signs only its own"):
        sign_voucher(make_claims(region_code="110000"), KEY)


@pytest.mark.parametrize(
    "changes",
    [
        {"reg": "110000", "iss": "skillvoucher:110000"},
        {"reg": "140100", "iss": "skillvoucher:110000"},
        {"reg": "110000", "iss": "skillvoucher:140100"},
    ],
)
def test_a_validly_signed_voucher_of_a_foreign_region_is_refused(changes: dict[str, str]) -> None:
    token = signed_by_hand(standard_header(), {**payload_of(TOKEN), **changes})

    with pytest.raises(BadSignature, match="may not vouch"):
        verify_voucher(token, PUBLIC_KEYS, NOW)


def test_jwks_export_is_all_a_verifier_needs(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    token = sign_voucher(make_claims(), store.generate(REGION))
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(store.export_jwks([REGION])))

    public_keys = load_public_keys_from_jwks(jwks_file)

    assert verify_voucher(token, public_keys, NOW) == make_claims()


def test_vouchers_signed_before_a_rotation_still_verify(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    old_key = store.generate(REGION)
    old_token = sign_voucher(make_claims(), store.active_key(REGION))

    new_key = store.generate(REGION)
    new_token = sign_voucher(make_claims(), store.active_key(REGION))

    assert jws.extract_compact(new_token.encode()).headers()["kid"] == new_key.kid != old_key.kid
    for token in (old_token, new_token):
        assert verify_voucher(token, store.public_keys(), NOW) == make_claims()


# --- tampering and forgery ------------------------------------------------------------------


def test_every_altered_payload_byte_breaks_the_signature() -> None:
    header, payload, signature = TOKEN.split(".")
    raw = urlsafe_b64decode(payload.encode())

    for i in range(len(raw)):
        altered = raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1 :]
        forged = f"{header}.{urlsafe_b64encode(altered).decode()}.{signature}"
        with pytest.raises(BadSignature):
            verify_voucher(forged, PUBLIC_KEYS, NOW)


def test_no_single_character_change_anywhere_is_accepted() -> None:
    alphabet = string.ascii_letters + string.digits + "-_"
    for i, char in enumerate(TOKEN):
        if char == ".":
            continue
        replacement = alphabet[(alphabet.index(char) + 1) % len(alphabet)]
        forged = TOKEN[:i] + replacement + TOKEN[i + 1 :]
        with pytest.raises((BadSignature, MalformedCredential, UnknownSigningKey)):
            verify_voucher(forged, PUBLIC_KEYS, NOW)


def test_alg_none_is_refused() -> None:
    header = json_b64encode(standard_header(alg="none")).decode()
    body, signature = TOKEN.split(".")[1:]

    for forged in (f"{header}.{body}.", f"{header}.{body}.{signature}"):
        with pytest.raises(MalformedCredential):
            verify_voucher(forged, PUBLIC_KEYS, NOW)


def test_hs256_keyed_with_the_public_key_is_refused() -> None:
    public_bytes = KEY.public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    forged = jws.serialize_compact(
        {"alg": "HS256", **standard_header()},
        json.dumps(payload_of(TOKEN)),
        OctKey.import_key(public_bytes),
        algorithms=["HS256"],
    )

    with pytest.raises(MalformedCredential, match="alg 'HS256' is not accepted"):
        verify_voucher(forged, PUBLIC_KEYS, NOW)


def test_the_deprecated_eddsa_name_is_still_accepted() -> None:
    with pytest.warns(SecurityWarning):
        token = signed_by_hand(standard_header(), payload_of(TOKEN), alg="EdDSA")

    assert verify_voucher(token, PUBLIC_KEYS, NOW) == make_claims()


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (standard_header(typ="JWT"), "typ 'JWT'"),
        ({"kid": KEY.kid}, "exactly alg, kid and typ"),
        (standard_header(jku="https://evil.example/jwks"), "exactly alg, kid and typ"),
        (standard_header(b64=True, crit=["b64"]), "exactly alg, kid and typ"),
        (standard_header(kid=""), "kid '' is not a key id"),
    ],
)
def test_headers_outside_the_profile_are_malformed(header: dict[str, Any], reason: str) -> None:
    token = signed_by_hand(header, payload_of(TOKEN))

    with pytest.raises(MalformedCredential, match=reason):
        verify_voucher(token, PUBLIC_KEYS, NOW)


def test_typ_may_carry_the_application_prefix_in_any_case() -> None:
    token = signed_by_hand(
        standard_header(typ="Application/VND.skillvoucher.voucher+JWT"), payload_of(TOKEN)
    )

    assert verify_voucher(token, PUBLIC_KEYS, NOW) == make_claims()


@pytest.mark.parametrize(
    "changes",
    [
        {"val": "200000"},
        {"val": True},
        {"val": 0},
        {"nbf": 1.5e9},
        {"exp": None},
        {"exp": 10**20},
        {"jti": ""},
        {"sub": 42},
        {"sch": "x" * 65},
        {"nbf": 1_900_000_000},  # valid_from after valid_until
    ],
)
def test_signed_but_ill_formed_claims_are_malformed(changes: dict[str, Any]) -> None:
    token = signed_by_hand(standard_header(), {**payload_of(TOKEN), **changes})

    with pytest.raises(MalformedCredential):
        verify_voucher(token, PUBLIC_KEYS, NOW)


def test_a_payload_that_is_not_a_json_object_is_malformed() -> None:
    for payload in (b"[1, 2]", b"\xff\xfe", b"[" * 2000):
        token = jws.serialize_compact(
            {"alg": "Ed25519", **standard_header()},
            payload,
            OKPKey.import_key(KEY.private_key),
            algorithms=["Ed25519"],
        )
        with pytest.raises(MalformedCredential, match="payload is not"):
            verify_voucher(token, PUBLIC_KEYS, NOW)


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "....",
        TOKEN + ".AAAA",
        TOKEN + "." + TOKEN,
        TOKEN.rsplit(".", 1)[0],
        TOKEN.replace(".", "..", 1),
        " " + TOKEN,
        TOKEN + "\n",
        TOKEN.replace("e", "é", 1),
        '{"payload": "x", "signature": "y"}',
        # JSON headers that are not objects yet mention "alg" (and "b64"): joserfc indexes them
        urlsafe_b64encode(b'"alg b64"').decode() + TOKEN[TOKEN.index(".") :],
        urlsafe_b64encode(b'["alg", "b64"]').decode() + TOKEN[TOKEN.index(".") :],
    ],
)
def test_structurally_broken_tokens_are_malformed(forged: str) -> None:
    with pytest.raises(MalformedCredential):
        verify_voucher(forged, PUBLIC_KEYS, NOW)


def test_huge_input_is_refused_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed a huge token")

    monkeypatch.setattr(jws, "extract_compact", must_not_parse)
    huge = TOKEN + "A" * (MAX_TOKEN_CHARS - len(TOKEN) + 1)

    with pytest.raises(MalformedCredential, match="longer than 4096"):
        verify_voucher(huge, PUBLIC_KEYS, NOW)


# --- garbage in, only credential errors out -------------------------------------------------


@given(st.text())
def test_any_text_fails_only_with_a_credential_error(text: str) -> None:
    with pytest.raises(CredentialError):
        verify_voucher(text, PUBLIC_KEYS, NOW)


@given(st.binary())
def test_any_bytes_fail_only_with_a_credential_error(data: bytes) -> None:
    with pytest.raises(CredentialError):
        verify_voucher(data.decode("latin-1"), PUBLIC_KEYS, NOW)


B64URL = st.text(alphabet=string.ascii_letters + string.digits + "-_", max_size=120)


@given(B64URL, B64URL, B64URL)
def test_any_three_base64url_segments_fail_only_with_a_credential_error(
    header: str, payload: str, signature: str
) -> None:
    with pytest.raises(CredentialError):
        verify_voucher(f"{header}.{payload}.{signature}", PUBLIC_KEYS, NOW)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["alg", "kid", "typ", "b64", "crit", "x"]), children)
    ),
    max_leaves=12,
)


@given(JSON, JSON)
def test_any_json_header_and_payload_fail_only_with_a_credential_error(
    header: Any, payload: Any
) -> None:
    # Reaches past base64 into header handling, where joserfc assumes the header is an object.
    signature = TOKEN.rsplit(".", 1)[1]
    forged = (
        urlsafe_b64encode(json.dumps(header).encode()).decode()
        + "."
        + urlsafe_b64encode(json.dumps(payload).encode()).decode()
        + f".{signature}"
    )

    with pytest.raises(CredentialError):
        verify_voucher(forged, PUBLIC_KEYS, NOW)


# --- claims validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"holder_ref": "14010019900101123X"},  # a resident ID number
        {"holder_ref": "13800138000"},  # a mobile number
        {"holder_ref": ""},
        {"value_fen": 0},
        {"value_fen": True},
        {"region_code": "14010"},
        {"issued_at": datetime(2026, 12, 4)},  # naive
        {"valid_until": ISSUED},
    ],
)
def test_claims_that_must_never_be_signed_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        make_claims(**changes)


# --- QR codes -------------------------------------------------------------------------------


def test_qr_png_is_a_deterministic_png() -> None:
    png = qr_png(TOKEN)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert qr_png(TOKEN) == png
    assert len(qr_png(TOKEN, scale=8)) > len(png)


def test_qr_svg_is_deterministic_well_formed_xml() -> None:
    svg = qr_svg(TOKEN, scale=3)

    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert qr_svg(TOKEN, scale=3) == svg


def test_qr_terminal_is_deterministic_block_text() -> None:
    text = qr_terminal(TOKEN)

    assert set(text) <= {" ", "\u2580", "\u2584", "\u2588", "\n"}
    assert qr_terminal(TOKEN) == text


@pytest.mark.parametrize("scale", [0, -1, 65, 2.5, True])
def test_qr_scale_must_be_a_sensible_integer(scale: Any) -> None:
    with pytest.raises(InvalidInput, match="scale"):
        qr_png(TOKEN, scale=scale)


def test_qr_refuses_text_too_long_for_any_symbol() -> None:
    with pytest.raises(InvalidInput, match="do not fit"):
        qr_svg("x" * 5000)
