"""Partner systems' API keys, and staff accounts, handed out within the giver's own scope."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.auth import Acting, Allowed
from skillvoucher.application.api_keys import (
    ApiKeyView,
    api_keys_page,
    create_api_key,
    revoke_api_key,
)
from skillvoucher.application.paging import MAX_PAGE
from skillvoucher.application.staff_accounts import AccountView, create_staff_account
from skillvoucher.domain.access import Permission, Principal, Role

router = APIRouter(prefix="/api/v1", tags=["access"])

P = Permission
RegionCodeField = Field(default=None, pattern=r"^\d{6}$")
CreditCodeField = Field(default=None, pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")


class ApiKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    role: Role
    scopes: list[Permission] = Field(min_length=1, max_length=len(Permission))
    region_code: str | None = RegionCodeField
    institution_id: uuid.UUID | None = None
    employer_credit_code: str | None = CreditCodeField


class CreatedApiKeyOut(BaseModel):
    key: str = Field(description="The whole key, shown this once: only its digest is kept.")
    api_key: ApiKeyView


class AccountRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=60)
    password: str = Field(min_length=10, max_length=200)
    display_name: str | None = Field(default=None, max_length=60)
    role: Role
    region_code: str | None = RegionCodeField
    institution_id: uuid.UUID | None = None
    employer_credit_code: str | None = CreditCodeField


@router.post("/api-keys", status_code=201, response_model=CreatedApiKeyOut)
def new_api_key(
    ctx: Acting, caller: Annotated[Principal, Allowed(P.API_KEY_MANAGE)], body: ApiKeyRequest
) -> CreatedApiKeyOut:
    """A key for a partner system: a check-in device, an institution's own system, an online
    platform. It acts with the role's permissions narrowed to `scopes`, within the caller's
    own scope."""
    created = create_api_key(
        ctx,
        caller,
        name=body.name,
        role=body.role,
        scopes=body.scopes,
        region_code=body.region_code,
        institution_id=body.institution_id,
        employer_credit_code=body.employer_credit_code,
    )
    return CreatedApiKeyOut(key=created.key, api_key=created.view)


class ApiKeyPage(BaseModel):
    items: list[ApiKeyView]
    next_cursor: str | None


@router.get("/api-keys", response_model=ApiKeyPage)
def api_keys(
    ctx: Acting,
    caller: Annotated[Principal, Allowed(P.API_KEY_MANAGE)],
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> ApiKeyPage:
    """Keys within the caller's scope, oldest first (never their secrets)."""
    page = api_keys_page(ctx, caller, cursor, limit)
    return ApiKeyPage(items=page.items, next_cursor=page.next_cursor)


@router.post("/api-keys/{key_id:uuid}/revoke", response_model=ApiKeyView)
def revoke(
    ctx: Acting, caller: Annotated[Principal, Allowed(P.API_KEY_MANAGE)], key_id: uuid.UUID
) -> ApiKeyView:
    """Revoke a key at once; requests with it answer 401 from now on."""
    return revoke_api_key(ctx, caller, key_id)


@router.post("/accounts", status_code=201, response_model=AccountView)
def new_account(
    ctx: Acting, caller: Annotated[Principal, Allowed(P.ACCOUNT_MANAGE)], body: AccountRequest
) -> AccountView:
    """A staff account within the caller's scope, with no permission the caller lacks."""
    return create_staff_account(
        ctx,
        caller,
        username=body.username,
        password=body.password,
        role=body.role,
        display_name=body.display_name,
        region_code=body.region_code,
        institution_id=body.institution_id,
        employer_credit_code=body.employer_credit_code,
    )
