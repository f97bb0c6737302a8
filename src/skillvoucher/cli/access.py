"""``skillvoucher account`` and ``skillvoucher apikey``: staff accounts and partner API keys,
created by the operator at the command line (the first administrators come from here)."""

from __future__ import annotations

import sys
import uuid
from typing import Annotated

import typer

from skillvoucher.application.api_keys import create_api_key, list_api_keys, revoke_api_key
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.application.staff_accounts import create_staff_account
from skillvoucher.cli.context import open_app
from skillvoucher.cli.output import stderr, stdout, table
from skillvoucher.domain.access import Permission, Role
from skillvoucher.domain.timekeeping import show

account_app = typer.Typer(
    help="Staff accounts (sign-in with password and TOTP).", no_args_is_help=True
)
apikey_app = typer.Typer(help="API keys for partner systems.", no_args_is_help=True)

RoleOption = Annotated[Role, typer.Option(help="The role the account or key holds.")]
RegionOption = Annotated[
    str | None, typer.Option(help="Region scope (six digits); none means nationwide.")
]
InstitutionOption = Annotated[
    str | None, typer.Option(help="The institution's credit code (institution staff only).")
]
EmployerOption = Annotated[
    str | None, typer.Option(help="The employer's credit code (enterprise HR only).")
]


def _institution(ctx: AppContext, code: str | None) -> uuid.UUID | None:
    return institution_id_by_code(ctx, code) if code else None


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    # Never an option: a password on the command line ends up in the shell's history.
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@account_app.command("create")
def create_account_command(
    username: Annotated[str, typer.Argument(help="3 to 60 letters, digits, dots or dashes.")],
    role: RoleOption,
    region: RegionOption = None,
    institution: InstitutionOption = None,
    employer: EmployerOption = None,
    display_name: Annotated[str | None, typer.Option(help="The name shown.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a staff account; the password is asked for (or read from standard input)."""
    password = _read_password(password_stdin)
    with open_app() as ctx:
        view = create_staff_account(
            ctx,
            None,
            username=username,
            password=password,
            role=role,
            display_name=display_name,
            region_code=region,
            institution_id=_institution(ctx, institution),
            employer_credit_code=employer,
        )
    scope = view.region_code or "nationwide"
    stdout().print(f"created {view.role.value} account {view.username} ({scope})")


@apikey_app.command("create")
def create_key_command(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'check-in gate 1'.")],
    role: RoleOption,
    scope: Annotated[
        list[Permission],
        typer.Option("--scope", help="A permission the key may use; repeat for more."),
    ],
    region: RegionOption = None,
    institution: InstitutionOption = None,
    employer: EmployerOption = None,
) -> None:
    """Create an API key and print it once: only its digest is kept."""
    with open_app() as ctx:
        created = create_api_key(
            ctx,
            None,
            name=name,
            role=role,
            scopes=scope,
            region_code=region,
            institution_id=_institution(ctx, institution),
            employer_credit_code=employer,
        )
    stderr().print(f"created key {created.view.prefix} ({name}); it is shown this once:")
    print(created.key)  # plain, so that scripts can capture it


@apikey_app.command("list")
def list_keys_command() -> None:
    """Every API key (never its secret)."""
    with open_app() as ctx:
        keys = list_api_keys(ctx, None)
    rows = table(
        "id",
        "prefix",
        "name",
        "role",
        "scopes",
        "region",
        "created",
        "last used",
        "revoked",
        ids=["id"],
    )
    for key in keys:
        rows.add_row(
            str(key.id),
            key.prefix,
            key.name,
            key.role.value,
            ", ".join(key.scopes),
            key.region_code or "",
            show(key.created_at),
            show(key.last_used_at) if key.last_used_at else "",
            show(key.revoked_at) if key.revoked_at else "",
        )
    stdout().print(rows)


@apikey_app.command("revoke")
def revoke_key_command(
    key_id: Annotated[uuid.UUID, typer.Argument(help="The key's id (see `apikey list`).")],
) -> None:
    """Revoke a key at once."""
    with open_app() as ctx:
        view = revoke_api_key(ctx, None, key_id)
    stdout().print(f"revoked key {view.prefix} ({view.name})")
