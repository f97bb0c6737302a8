"""Schemes: read within the caller's region; preview, create, launch, pause and close them.

A scheme's definition is the same document as a scheme file (`skillvoucher scheme create`),
sent as JSON. Every change is audited in the caller's name.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from skillvoucher.api.auth import Allowed
from skillvoucher.api.dependencies import Context
from skillvoucher.application.paging import MAX_PAGE
from skillvoucher.application.scheme_access import (
    SchemeInfo,
    allocate_to_scheme,
    change_scheme_status,
    create_scheme,
    list_schemes,
    preview_scheme,
    show_scheme,
)
from skillvoucher.application.scheme_files import MAX_BUDGET_FEN, SchemeDoc
from skillvoucher.domain.access import Permission as P
from skillvoucher.domain.access import Principal
from skillvoucher.domain.schemes import SchemeStatus

router = APIRouter(prefix="/api/v1", tags=["schemes"])

SchemeCode = Annotated[str, Path(pattern=r"^[A-Z0-9][A-Z0-9-]{2,39}$")]
Reader = Annotated[Principal, Allowed(P.SCHEME_READ)]
Manager = Annotated[Principal, Allowed(P.SCHEME_MANAGE)]
MAX_ALLOCATION_FEN = MAX_BUDGET_FEN  # a top-up is bounded like a budget


class SchemePage(BaseModel):
    # The application's views, served as they are: pydantic reads stdlib dataclasses.
    items: list[SchemeInfo]
    next_cursor: str | None


class PreviewOut(BaseModel):
    eligible: int
    """People who qualify today, counted with the same query a push would use."""
    reachable: int
    """Of those, how many the quota lets in."""
    budget_needed_fen: int
    """What giving every reachable person the largest face value would take."""
    budget_fen: int
    """What the scheme asks from the fund."""
    budget_covers: bool


@router.get("/schemes", response_model=SchemePage)
def schemes(
    ctx: Context,
    caller: Reader,
    status: SchemeStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> SchemePage:
    """Schemes within the caller's region (all of them for a nationwide role), oldest first;
    follow `next_cursor` for more."""
    page = list_schemes(ctx, caller, status, cursor, limit)
    return SchemePage(items=page.items, next_cursor=page.next_cursor)


@router.get("/schemes/{code}", response_model=SchemeInfo)
def scheme(ctx: Context, caller: Reader, code: SchemeCode) -> SchemeInfo:
    """One scheme; a scheme outside the caller's region answers 404 like a missing one."""
    return show_scheme(ctx, caller, code)


@router.post("/scheme-previews", response_model=PreviewOut)
def preview(ctx: Context, caller: Manager, body: SchemeDoc) -> PreviewOut:
    """How many people a scheme would reach today and the budget it would need. Nothing is
    written. Its region (and any household regions it names) must lie within the caller's."""
    found = preview_scheme(ctx, caller, body)
    return PreviewOut(
        eligible=found.eligible,
        reachable=found.reachable,
        budget_needed_fen=found.budget_needed_fen,
        budget_fen=found.budget_fen,
        budget_covers=found.budget_covers,
    )


@router.post("/schemes", response_model=SchemeInfo, status_code=201)
def create(
    ctx: Context,
    caller: Manager,
    body: SchemeDoc,
    launch: Annotated[
        bool, Query(description="Launch at once (allocating the budget) instead of a draft.")
    ] = False,
) -> SchemeInfo:
    """Create a scheme, as a draft unless `launch=true`. Its region (and any household regions
    it names) must lie within the caller's; launching needs the whole budget in the fund."""
    return create_scheme(ctx, caller, body, launch=launch)


@router.post("/schemes/{code}/launch", response_model=SchemeInfo)
def launch(ctx: Context, caller: Manager, code: SchemeCode) -> SchemeInfo:
    """Launch a draft (allocating its budget from the region's fund) or resume a paused
    scheme. Any other state answers 409."""
    return change_scheme_status(ctx, caller, code, SchemeStatus.ACTIVE)


@router.post("/schemes/{code}/pause", response_model=SchemeInfo)
def pause(ctx: Context, caller: Manager, code: SchemeCode) -> SchemeInfo:
    """Stop issuing from an active scheme for now (launch resumes it)."""
    return change_scheme_status(ctx, caller, code, SchemeStatus.PAUSED)


@router.post("/schemes/{code}/close", response_model=SchemeInfo)
def close(ctx: Context, caller: Manager, code: SchemeCode) -> SchemeInfo:
    """Close an active or paused scheme for good."""
    return change_scheme_status(ctx, caller, code, SchemeStatus.CLOSED)


class AllocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_fen: int = Field(gt=0, le=MAX_ALLOCATION_FEN)


@router.post("/schemes/{code}/allocations", response_model=SchemeInfo)
def allocate(
    ctx: Context, caller: Manager, code: SchemeCode, body: AllocationRequest
) -> SchemeInfo:
    """Top up a launched scheme's budget from its region's special fund account; 409 when the
    fund holds less than that (nothing moves)."""
    return allocate_to_scheme(ctx, caller, code, body.amount_fen)
