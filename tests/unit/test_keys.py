"""The filesystem key store: layout, permissions, rotation, JWKS export and import."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from joserfc.jwk import OKPKey, RSAKey

from skillvoucher.credentials.keys import (
    KID_RE,
    KeyStore,
    NoSigningKey,
    load_public_keys_from_jwks,
)
from skillvoucher.domain.errors import InvalidInput, InvalidRegionCode

REGION = "140100"
OTHER_REGION = "110000"


def raw_bytes(key: Any) -> bytes:
    data: bytes = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return data


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "keys")


def test_generate_writes_the_documented_layout(store: KeyStore) -> None:
    key = store.generate(REGION)

    assert KID_RE.match(key.kid)
    assert key.kid.startswith(f"{REGION}-")
    region_dir = store.root / REGION
    assert sorted(p.name for p in region_dir.iterdir()) == sorted(
        [f"{key.kid}.key.pem", f"{key.kid}.pub.pem", "ACTIVE"]
    )
    assert (region_dir / "ACTIVE").read_text().strip() == key.kid
    assert (
        (region_dir / f"{key.kid}.key.pem").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    )


def test_private_key_file_is_readable_only_by_its_owner(store: KeyStore) -> None:
    key = store.generate(REGION)

    mode = (store.root / REGION / f"{key.kid}.key.pem").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_active_key_is_read_back_from_disk_by_a_new_store(store: KeyStore) -> None:
    key = store.generate(REGION)

    reloaded = KeyStore(store.root).active_key(REGION)

    assert reloaded.kid == key.kid
    assert reloaded.region_code == REGION
    assert raw_bytes(reloaded.public_key) == raw_bytes(key.public_key)


def test_active_key_without_a_key_says_how_to_make_one(store: KeyStore) -> None:
    with pytest.raises(NoSigningKey) as caught:
        store.active_key(REGION)

    assert isinstance(caught.value, InvalidInput)
    assert caught.value.message == (
        "no signing key for region 140100: run `skillvoucher keys generate 140100`"
    )


def test_ensure_active_key_generates_only_the_first_time(store: KeyStore) -> None:
    first = store.ensure_active_key(REGION)
    again = store.ensure_active_key(REGION)

    assert again.kid == first.kid
    assert len(store.list_keys()) == 1


def test_generate_rotates_and_keeps_old_keys_for_verification(store: KeyStore) -> None:
    old = store.generate(REGION)
    assert set(store.public_keys()) == {old.kid}  # fills the cache

    new = store.generate(REGION)

    assert new.kid != old.kid
    assert store.active_key(REGION).kid == new.kid
    assert set(store.public_keys()) == {old.kid, new.kid}
    assert [(k.kid, k.active) for k in store.list_keys()] == sorted(
        [(old.kid, False), (new.kid, True)]
    )


def test_public_keys_span_regions_and_are_a_copy(store: KeyStore) -> None:
    a = store.generate(REGION)
    b = store.generate(OTHER_REGION)

    keys = store.public_keys()
    keys.clear()

    assert set(store.public_keys()) == {a.kid, b.kid}


def test_list_keys_reports_region_creation_time_and_ignores_stray_files(store: KeyStore) -> None:
    key = store.generate(REGION)
    (store.root / REGION / "notes.txt").write_text("hello")
    (store.root / REGION / "not-a-kid.pub.pem").write_text("junk")
    (store.root / "tmp").mkdir()

    [info] = store.list_keys()

    assert (info.kid, info.region_code, info.active) == (key.kid, REGION, True)
    assert info.created_at.tzinfo is not None
    assert info.created_at.strftime("%Y%m%d") == key.kid.split("-")[1]


def test_no_temporary_files_are_left_behind(store: KeyStore) -> None:
    store.generate(REGION)
    store.generate(REGION)

    assert not [p for p in (store.root / REGION).iterdir() if p.name.startswith(".")]


def test_a_corrupt_active_file_is_reported(store: KeyStore) -> None:
    store.generate(REGION)
    (store.root / REGION / "ACTIVE").write_text("../../etc/passwd\n")

    with pytest.raises(InvalidInput, match="not a key of this region"):
        store.active_key(REGION)


BAD_REGION_CODES = [
    "../etc",
    "..",
    "140100/../../x",
    "/etc",
    "14010",
    "1401000",
    "１４０１００",  # fullwidth digits: \d would match them
    "140100\n",
    " 140100",
    "",
    "abcdef",
]


@pytest.mark.parametrize("region_code", BAD_REGION_CODES)
def test_region_codes_other_than_six_digits_are_rejected_before_touching_disk(
    tmp_path: Path, region_code: str
) -> None:
    store = KeyStore(tmp_path / "keys")

    for operation in (store.generate, store.active_key, store.ensure_active_key):
        with pytest.raises(InvalidRegionCode):
            operation(region_code)
    with pytest.raises(InvalidRegionCode):
        store.export_jwks([region_code])

    assert list(tmp_path.iterdir()) == []


def test_export_jwks_holds_only_public_ed25519_signing_keys(store: KeyStore) -> None:
    key = store.generate(REGION)
    store.generate(OTHER_REGION)

    jwks = store.export_jwks([REGION])

    assert jwks == {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": OKPKey.import_key(key.public_key).as_dict()["x"],
                "kid": key.kid,
                "use": "sig",
                "alg": "Ed25519",
            }
        ]
    }
    assert len(store.export_jwks()["keys"]) == 2
    json.dumps(jwks)  # serialisable as is


def test_jwks_round_trips_through_a_file(store: KeyStore, tmp_path: Path) -> None:
    a = store.generate(REGION)
    b = store.generate(OTHER_REGION)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(store.export_jwks()))

    loaded = load_public_keys_from_jwks(path)

    assert {kid: raw_bytes(k) for kid, k in loaded.items()} == {
        a.kid: raw_bytes(a.public_key),
        b.kid: raw_bytes(b.public_key),
    }
    assert load_public_keys_from_jwks(str(path)).keys() == loaded.keys()


def test_jwks_keys_of_other_kinds_are_skipped(store: KeyStore) -> None:
    key = store.generate(REGION)
    jwks = store.export_jwks()
    jwks["keys"].append(RSAKey.generate_key(2048, {"kid": "rsa-1"}).as_dict())

    assert list(load_public_keys_from_jwks(jwks)) == [key.kid]


PRIVATE_JWK = OKPKey.generate_key("Ed25519").as_dict(private=True)


def ed25519_jwk(kid: str = "140100-20261204-a1f3", **extra: Any) -> dict[str, Any]:
    public_jwk = OKPKey.import_key(Ed25519PrivateKey.generate()).as_dict(private=False)
    return {**public_jwk, "kid": kid, "use": "sig", "alg": "Ed25519", **extra}


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({}, "not a JWK Set"),
        ({"keys": "nope"}, "not a JWK Set"),
        ({"keys": []}, "no Ed25519 signing keys"),
        ({"keys": [42]}, "not a JSON object"),
        ({"keys": [ed25519_jwk(kid="main")]}, "has kid 'main'"),
        ({"keys": [ed25519_jwk(x="not-a-key")]}, "not a valid key"),
        ({"keys": [ed25519_jwk(alg="HS256")]}, "alg 'HS256'"),
        ({"keys": [ed25519_jwk(alg=["EdDSA"])]}, "alg ['EdDSA']"),
        ({"keys": [ed25519_jwk(), ed25519_jwk()]}, "twice"),
        ({"keys": [ed25519_jwk(d=PRIVATE_JWK["d"])]}, "private key material"),
    ],
)
def test_bad_jwks_are_refused_with_a_reason(document: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(reason)):
        load_public_keys_from_jwks(document)


def test_bad_jwks_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read JWKS file"):
        load_public_keys_from_jwks(tmp_path / "missing.json")

    path = tmp_path / "jwks.json"
    path.write_text("{not json")
    with pytest.raises(InvalidInput, match="is not JSON"):
        load_public_keys_from_jwks(path)
