"""``skillvoucher keys``: regional signing keys. Needs no database, only the key directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from skillvoucher.cli.context import open_key_store
from skillvoucher.cli.output import stderr, stdout, table
from skillvoucher.domain.timekeeping import show

app = typer.Typer(
    help="Signing keys (Ed25519, one active key per region), kept in SKILLVOUCHER_KEY_DIR.",
    no_args_is_help=True,
)


@app.command("generate")
def generate(
    region: Annotated[
        str, typer.Argument(metavar="REGION", help="Six-digit region code, e.g. 140100.")
    ],
) -> None:
    """Make a new key for the region and make it active (rotation; old keys keep verifying)."""
    key = open_key_store().generate(region)
    stdout().print(f"generated key {key.kid}; it signs new vouchers of region {region}")


@app.command("list")
def list_command() -> None:
    """Every key, by region, and which one is active."""
    keys = open_key_store().list_keys()
    rows = table("kid", "region", "created", "active")
    for info in keys:
        active = "yes" if info.active else ""
        rows.add_row(info.kid, info.region_code, show(info.created_at), active)
    stdout().print(rows)


@app.command("export")
def export(
    region: Annotated[
        list[str] | None,
        typer.Option(help="Only this region's keys (repeatable); default: every region."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the JWKS to this file instead of stdout.")
    ] = None,
) -> None:
    """The public keys as a JWK Set (JSON), for offline verifiers: no private key material."""
    jwks = open_key_store().export_jwks(region or None)
    text = json.dumps(jwks, indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    stderr().print(f"wrote {len(jwks['keys'])} public key(s) to {out}")
