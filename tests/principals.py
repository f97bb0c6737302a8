"""Signed-in callers for HTTP tests: headers for a staff member, a worker, or a partner's key."""

from __future__ import annotations

import itertools
import uuid

from skillvoucher.application.api_keys import create_api_key
from skillvoucher.application.context import AppContext
from skillvoucher.application.sign_in import sign_in_staff, start_worker_session
from skillvoucher.application.staff_accounts import create_staff_account
from skillvoucher.domain.access import Permission, Role

PASSWORD = "correct horse 42"
CITY = "140100"

_serial = itertools.count(1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def staff_account(
    ctx: AppContext,
    role: Role,
    *,
    region_code: str | None = CITY,
    institution_id: uuid.UUID | None = None,
    employer_credit_code: str | None = None,
) -> str:
    """A new account's username; its password is ``PASSWORD``."""
    username = f"{role.value.replace('_', '-')}-{next(_serial)}"
    create_staff_account(
        ctx,
        None,
        username=username,
        password=PASSWORD,
        role=role,
        region_code=region_code,
        institution_id=institution_id,
        employer_credit_code=employer_credit_code,
    )
    return username


def staff_headers(
    ctx: AppContext,
    role: Role,
    *,
    region_code: str | None = CITY,
    institution_id: uuid.UUID | None = None,
    employer_credit_code: str | None = None,
) -> dict[str, str]:
    """Bearer headers of a freshly signed-in staff member holding ``role`` in ``region_code``."""
    username = staff_account(
        ctx,
        role,
        region_code=region_code,
        institution_id=institution_id,
        employer_credit_code=employer_credit_code,
    )
    return bearer(sign_in_staff(ctx, username, PASSWORD).token)


def worker_headers(ctx: AppContext, person_id: uuid.UUID) -> dict[str, str]:
    """Bearer headers of a worker signed in (as the e-SSC would vouch) as ``person_id``."""
    return bearer(start_worker_session(ctx, person_id).token)


def api_key_headers(
    ctx: AppContext,
    role: Role,
    scopes: list[Permission],
    *,
    region_code: str | None = CITY,
    institution_id: uuid.UUID | None = None,
    employer_credit_code: str | None = None,
) -> dict[str, str]:
    created = create_api_key(
        ctx,
        None,
        name=f"test key {next(_serial)}",
        role=role,
        scopes=scopes,
        region_code=region_code,
        institution_id=institution_id,
        employer_credit_code=employer_credit_code,
    )
    return bearer(created.key)
