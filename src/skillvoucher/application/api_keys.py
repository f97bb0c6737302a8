"""API keys for partner systems: an institution's own system, an online training platform, a
check-in device. A key acts with a role's permissions narrowed to its scopes, within the scope
of whoever created it, and is shown in full once, at creation."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from skillvoucher.application.context import AppContext
from skillvoucher.application.paging import Page, check_limit, cursor_id, page_of
from skillvoucher.application.staff_accounts import check_affiliation, check_delegation
from skillvoucher.domain.access import (
    NotAuthenticated,
    Permission,
    Principal,
    PrincipalKind,
    Role,
    Scope,
    permissions_for,
)
from skillvoucher.domain.errors import InvalidInput, NotFound
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.regions import NATIONWIDE
from skillvoucher.persistence.tables import ApiKey

API_KEY_PREFIX = "svk_"
_PREFIX_CHARS = 12


@dataclass(frozen=True)
class ApiKeyView:
    id: uuid.UUID
    prefix: str
    name: str
    role: Role
    scopes: list[Permission]
    region_code: str | None
    institution_id: uuid.UUID | None
    employer_credit_code: str | None
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class CreatedApiKey:
    key: str
    """The whole key, shown once: only its digest is kept."""
    view: ApiKeyView


def _view(row: ApiKey) -> ApiKeyView:
    return ApiKeyView(
        id=row.id,
        prefix=row.prefix,
        name=row.name,
        role=row.role,
        scopes=[Permission(s) for s in row.scopes],
        region_code=row.region_code,
        institution_id=row.institution_id,
        employer_credit_code=row.employer_credit_code,
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    ctx: AppContext,
    creator: Principal | None,
    *,
    name: str,
    role: Role,
    scopes: list[Permission],
    region_code: str | None = None,
    institution_id: uuid.UUID | None = None,
    employer_credit_code: str | None = None,
) -> CreatedApiKey:
    """A new key. ``creator`` None is the operator at the command line, who may create any key;
    a principal may only create keys within its own scope and permissions."""
    name = name.strip()
    if not 1 <= len(name) <= 80:
        raise InvalidInput("a key needs a name of 1 to 80 characters")
    if not scopes:
        raise InvalidInput("a key needs at least one scope")
    check_affiliation(role, region_code, institution_id, employer_credit_code)
    granted = permissions_for(role, frozenset(scopes))
    if granted != frozenset(scopes):
        beyond = sorted(p.value for p in frozenset(scopes) - granted)
        raise InvalidInput(f"a {role.value} key cannot have {', '.join(beyond)}")
    with ctx.unit_of_work() as uow:
        if institution_id is not None:
            institution = uow.catalogue.institution(institution_id)
            if institution is None:
                raise NotFound(f"no institution {institution_id}")
            region_code = region_code or institution.region_code
        key_scope = Scope.of_region(
            region_code, institution_id=institution_id, employer_credit_code=employer_credit_code
        )
        if creator is not None:
            check_delegation(creator, role, key_scope, Permission.API_KEY_MANAGE)
        now = ctx.clock()
        prefix = secrets.token_hex(_PREFIX_CHARS // 2)
        secret = secrets.token_urlsafe(32)
        row = ApiKey(
            id=new_id(),
            prefix=prefix,
            secret_digest=_digest(secret),
            name=name,
            role=role,
            scopes=sorted(p.value for p in granted),
            region_code=region_code,
            institution_id=institution_id,
            employer_credit_code=employer_credit_code,
            created_by=ctx.actor,
            created_at=now,
        )
        uow.accounts.add_api_key(row)
        uow.audit.record(
            at=now,
            actor=ctx.actor,
            action="api_key.created",
            entity_type="api_key",
            entity_id=row.id,
            region_code=region_code or NATIONWIDE,
            payload={"name": name, "role": role.value, "scopes": row.scopes},
        )
        uow.commit()
        return CreatedApiKey(key=f"{API_KEY_PREFIX}{prefix}_{secret}", view=_view(row))


def resolve_api_key(ctx: AppContext, key: str) -> Principal:
    """The principal a presented key acts as, or NotAuthenticated."""
    body = key.removeprefix(API_KEY_PREFIX)
    prefix, _, secret = body.partition("_")
    if not key.startswith(API_KEY_PREFIX) or len(prefix) != _PREFIX_CHARS or not secret:
        raise NotAuthenticated("the API key is malformed")
    with ctx.unit_of_work() as uow:
        row = uow.accounts.api_key_by_prefix(prefix)
        if row is None or not hmac.compare_digest(row.secret_digest, _digest(secret)):
            raise NotAuthenticated("the API key is not valid")
        if row.revoked_at is not None:
            raise NotAuthenticated("the API key was revoked")
        now = ctx.clock()
        # Recording use on every call would make each request a write; once a minute is enough.
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            uow.accounts.touch_api_key(row.id, now)
            uow.commit()
        return Principal(
            kind=PrincipalKind.PARTNER,
            subject_id=row.id,
            role=row.role,
            permissions=permissions_for(row.role, frozenset(Permission(s) for s in row.scopes)),
            scope=Scope.of_region(
                row.region_code,
                institution_id=row.institution_id,
                employer_credit_code=row.employer_credit_code,
            ),
            label=f"key:{row.prefix}",
        )


def _managing_scope(principal: Principal | None) -> Scope:
    """What a principal may manage; None is the operator at the command line: everything."""
    if principal is None:
        return Scope()
    principal.require(Permission.API_KEY_MANAGE)
    return principal.scope


def list_api_keys(ctx: AppContext, principal: Principal | None) -> list[ApiKeyView]:
    """Every key the principal manages (the operator: all), oldest first."""
    scope = _managing_scope(principal)
    with ctx.unit_of_work() as uow:
        return [_view(row) for row in uow.accounts.api_keys(scope)]


def api_keys_page(
    ctx: AppContext, principal: Principal, cursor: str | None, limit: int
) -> Page[ApiKeyView]:
    scope = _managing_scope(principal)
    check_limit(limit)
    with ctx.unit_of_work() as uow:
        rows = uow.accounts.api_keys(scope, after=cursor_id(cursor), limit=limit + 1)
        return page_of([_view(row) for row in rows], limit, lambda key: key.id)


def revoke_api_key(ctx: AppContext, principal: Principal | None, key_id: uuid.UUID) -> ApiKeyView:
    scope = _managing_scope(principal)
    with ctx.unit_of_work() as uow:
        row = uow.accounts.api_key(key_id, scope)
        if row is None:
            raise NotFound("no such API key")
        now = ctx.clock()
        if row.revoked_at is None:
            row.revoked_at = now
            uow.audit.record(
                at=now,
                actor=ctx.actor,
                action="api_key.revoked",
                entity_type="api_key",
                entity_id=row.id,
                region_code=row.region_code or NATIONWIDE,
            )
        uow.commit()
        return _view(row)
