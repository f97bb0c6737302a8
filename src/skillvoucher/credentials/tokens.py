"""The voucher credential: a JWT (RFC 7519) signed with the region's Ed25519 key.

It travels as a JWS compact serialisation (RFC 7515) inside a QR code, so anyone holding the
region's public key can check it offline. The header is explicitly typed (RFC 8725 section
3.11) so a voucher cannot be confused with any other JWT signed by the same key::

    {"typ": "vnd.skillvoucher.voucher+jwt", "alg": "Ed25519", "kid": "140100-20261204-a1f3"}

Claims use short names because every byte enlarges the QR code: ``iss`` ("skillvoucher:" and
the region), ``jti`` (voucher id), ``sub`` (opaque holder reference), ``sch`` (scheme code),
``reg`` (region code), ``val`` (value in fen), and ``nbf``/``exp``/``iat`` in whole seconds.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey
from joserfc.util import urlsafe_b64decode

from skillvoucher.credentials.keys import (
    ACCEPTED_JWS_ALGS,
    JWS_ALG,
    KID_RE,
    SigningKey,
    check_region_code,
)
from skillvoucher.domain.errors import (
    BadSignature,
    CredentialExpired,
    CredentialNotYetValid,
    InvalidInput,
    MalformedCredential,
    UnknownSigningKey,
)
from skillvoucher.domain.timekeeping import show

VOUCHER_JWT_TYPE = "vnd.skillvoucher.voucher+jwt"
ISSUER_PREFIX = "skillvoucher:"
# A real voucher is about 500 characters; anything far larger is refused before any decoding.
MAX_TOKEN_CHARS = 4096
# Bounds the identifier fields so that every voucher fits a QR code a phone camera reads easily.
MAX_FIELD_CHARS = 64

_REGISTRY = jws.JWSRegistry(algorithms=[JWS_ALG])
_HEADER_PARAMS = frozenset({"alg", "kid", "typ"})
# Three non-empty base64url segments, ASCII only: rules out detached payloads, JWE (five
# segments), JSON serialisations, whitespace and non-ASCII before joserfc sees the input.
_COMPACT_JWS_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\Z")
# 9999-12-31T23:59:59Z, the last second a datetime can hold.
_MAX_NUMERIC_DATE = 253_402_300_799
# A holder reference that looks like a resident ID or a mobile number is almost certainly one,
# and a QR code is shown to (and photographed by) strangers.
_PERSONAL_NUMBER_RE = re.compile(r"(?:[0-9]{17}[0-9Xx]|1[0-9]{10})\Z")


@dataclass(frozen=True)
class VoucherClaims:
    """What a voucher credential asserts. Times are timezone-aware; they travel as whole
    seconds (rounded down), so a verified voucher's times carry no microseconds.
    """

    voucher_id: str
    scheme_code: str
    region_code: str
    holder_ref: str
    """An opaque reference to the holder; never a resident ID or mobile number."""
    value_fen: int
    valid_from: datetime
    valid_until: datetime
    """The last valid instant (inclusive), as elsewhere in skillvoucher."""
    issued_at: datetime

    def __post_init__(self) -> None:
        for name in ("voucher_id", "scheme_code", "holder_ref"):
            value = getattr(self, name)
            if not isinstance(value, str) or not 0 < len(value) <= MAX_FIELD_CHARS:
                raise InvalidInput(f"{name} must be text of 1 to {MAX_FIELD_CHARS} characters")
        if _PERSONAL_NUMBER_RE.match(self.holder_ref):
            raise InvalidInput("holder_ref must be an opaque reference, not an ID or phone number")
        check_region_code(self.region_code)
        if type(self.value_fen) is not int or self.value_fen <= 0:
            raise InvalidInput(f"value_fen must be a positive integer, got {self.value_fen!r}")
        for name in ("valid_from", "valid_until", "issued_at"):
            moment = getattr(self, name)
            if not isinstance(moment, datetime) or moment.utcoffset() is None:
                raise InvalidInput(f"{name} must be a timezone-aware datetime")
        if self.valid_from >= self.valid_until:
            raise InvalidInput("valid_from must be before valid_until")


def sign_voucher(claims: VoucherClaims, key: SigningKey) -> str:
    """The voucher credential for ``claims``, signed by ``key`` of the same region."""
    if _region_of_kid(key.kid) != claims.region_code:
        raise InvalidInput(
            f"key {key.kid} cannot sign for region {claims.region_code}: "
            "each region signs only its own vouchers"
        )
    header = {"alg": JWS_ALG, "kid": key.kid, "typ": VOUCHER_JWT_TYPE}
    payload: dict[str, Any] = {
        "iss": ISSUER_PREFIX + claims.region_code,
        "jti": claims.voucher_id,
        "sub": claims.holder_ref,
        "sch": claims.scheme_code,
        "reg": claims.region_code,
        "val": claims.value_fen,
        "nbf": _numeric_date(claims.valid_from),
        "exp": _numeric_date(claims.valid_until),
        "iat": _numeric_date(claims.issued_at),
    }
    private_key = OKPKey.import_key(key.private_key)
    return jwt.encode(header, payload, private_key, registry=_REGISTRY)


def verify_voucher(
    token: str, public_keys: Mapping[str, Ed25519PublicKey], now: datetime
) -> VoucherClaims:
    """The claims of a genuine voucher credential that is valid at ``now``.

    Raises, with a one-line reason: MalformedCredential (not a voucher JWS, or bad claims),
    UnknownSigningKey (kid not in ``public_keys``), BadSignature (signature does not verify,
    or the key's region is not the voucher's), CredentialNotYetValid, CredentialExpired.
    """
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidInput("now must be a timezone-aware datetime")
    compact = _parse_compact(token)
    kid = _checked_kid(compact.headers())
    public_key = public_keys.get(kid)
    if public_key is None:
        raise UnknownSigningKey(f"voucher is signed with key {_brief(kid)}, not known here")
    # The signature is checked with cryptography directly rather than through
    # jws.validate_compact: the header has already been held to this profile (one alg, one key
    # type), and skipping joserfc's per-call key wrapping keeps verification close to the raw
    # Ed25519 rate.
    segments = compact.segments
    try:
        signature = urlsafe_b64decode(segments["signature"])
    except ValueError:
        raise MalformedCredential("signature is not canonical base64url") from None
    try:
        public_key.verify(signature, segments["header"] + b"." + segments["payload"])
    except InvalidSignature:
        raise BadSignature(f"signature does not verify with key {kid}") from None
    claims = _claims_from_payload(compact.payload, kid)
    if now < claims.valid_from:
        raise CredentialNotYetValid(
            f"voucher {claims.voucher_id} is valid from {show(claims.valid_from)}"
        )
    # valid_until is inclusive (as everywhere in skillvoucher), so now == exp is still valid.
    # A plain RFC 7519 verifier treats exp as exclusive and refuses from that very second:
    # stricter by one instant, the safe direction.
    if now > claims.valid_until:
        raise CredentialExpired(
            f"voucher {claims.voucher_id} expired at {show(claims.valid_until)}"
        )
    return claims


def _parse_compact(token: object) -> jws.CompactSignature:
    if not isinstance(token, str):
        raise MalformedCredential("a voucher credential is text")
    if len(token) > MAX_TOKEN_CHARS:
        raise MalformedCredential(f"longer than {MAX_TOKEN_CHARS} characters")
    if not _COMPACT_JWS_RE.match(token):
        raise MalformedCredential("not a JWS compact serialisation (three base64url segments)")
    try:
        return jws.extract_compact(token.encode("ascii"), registry=_REGISTRY)
    except (JoseError, ValueError) as error:
        raise MalformedCredential(f"not a valid JWS: {error}") from None
    except TypeError:
        # joserfc looks up "b64" in the header before checking that it is a JSON object.
        raise MalformedCredential("JWS header is not a JSON object") from None


def _checked_kid(header: object) -> str:
    """The kid of a header that follows this profile, or MalformedCredential."""
    if not isinstance(header, dict) or header.keys() != _HEADER_PARAMS:
        raise MalformedCredential("JWS header must hold exactly alg, kid and typ")
    alg, typ, kid = header["alg"], header["typ"], header["kid"]
    # Checked against a fixed set, never looked up in a registry of algorithms: "none", HS256
    # with the public key as secret, and every other algorithm-confusion trick end here.
    if not isinstance(alg, str) or alg not in ACCEPTED_JWS_ALGS:
        raise MalformedCredential(f"alg {_brief(alg)} is not accepted, only {JWS_ALG}")
    # RFC 7515 section 4.1.9: "application/" may be omitted, and media types ignore case.
    if not isinstance(typ, str) or typ.lower().removeprefix("application/") != VOUCHER_JWT_TYPE:
        raise MalformedCredential(f"typ {_brief(typ)} is not {VOUCHER_JWT_TYPE}")
    if not isinstance(kid, str) or not kid:
        raise MalformedCredential(f"kid {_brief(kid)} is not a key id")
    return kid


def _claims_from_payload(payload: bytes, kid: str) -> VoucherClaims:
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        raise MalformedCredential("payload is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedCredential("payload is not a JSON object")
    region_code = _text_claim(data, "reg")
    issuer = _text_claim(data, "iss")
    # A valid signature proves only which key signed; the key must also belong to the region
    # the voucher claims, or one region's key could issue vouchers for every region.
    key_region = _region_of_kid(kid)
    if key_region != region_code or issuer != ISSUER_PREFIX + region_code:
        raise BadSignature(
            f"key {kid} may not vouch for issuer {_brief(issuer)}, region {_brief(region_code)}"
        )
    try:
        return VoucherClaims(
            voucher_id=_text_claim(data, "jti"),
            scheme_code=_text_claim(data, "sch"),
            region_code=region_code,
            holder_ref=_text_claim(data, "sub"),
            value_fen=_int_claim(data, "val"),
            valid_from=_time_claim(data, "nbf"),
            valid_until=_time_claim(data, "exp"),
            issued_at=_time_claim(data, "iat"),
        )
    except InvalidInput as error:
        raise MalformedCredential(f"claims are invalid: {error.message}") from None


def _text_claim(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise MalformedCredential(f"claim {name!r} is missing or not text")
    return value


def _int_claim(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    # type() rather than isinstance(): JSON true must not pass as 1.
    if type(value) is not int:
        raise MalformedCredential(f"claim {name!r} is missing or not an integer")
    return value


def _time_claim(data: dict[str, Any], name: str) -> datetime:
    seconds = _int_claim(data, name)
    if not 0 <= seconds <= _MAX_NUMERIC_DATE:
        raise MalformedCredential(f"claim {name!r} is not a plausible time")
    return datetime.fromtimestamp(seconds, tz=UTC)


def _numeric_date(moment: datetime) -> int:
    """RFC 7519 NumericDate: whole seconds since the epoch, rounded down."""
    return math.floor(moment.timestamp())


def _region_of_kid(kid: str) -> str | None:
    match = KID_RE.match(kid)
    return match["region"] if match else None


def _brief(value: object) -> str:
    """A value from untrusted input, made safe and short for a one-line message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
