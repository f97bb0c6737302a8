"""What the administrator console shows at a glance: the caller's region, schemes by status,
vouchers issued and used, institutions awaiting approval; and one scheme's issuance progress.
Everything within the caller's region scope."""

from __future__ import annotations

from dataclasses import dataclass, replace

from skillvoucher.application.context import AppContext
from skillvoucher.application.issuance import eligible_count
from skillvoucher.domain.access import Permission, Principal
from skillvoucher.domain.catalogue import ApprovalStatus
from skillvoucher.domain.errors import NotFound
from skillvoucher.domain.ledger import Account
from skillvoucher.domain.schemes import IssuanceMode, SchemeStatus
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.read_models import catalogue_review, console_figures, statistics
from skillvoucher.persistence.read_models.scoped_schemes import scheme_in_scope


@dataclass(frozen=True)
class RegionLabel:
    code: str | None  # None: nationwide
    name: str | None


@dataclass(frozen=True)
class ConsoleOverview:
    region: RegionLabel
    schemes: dict[SchemeStatus, int]
    vouchers_issued: int
    vouchers_used: int
    vouchers_completed: int
    amount_issued_fen: int
    pending_institutions: int | None  # None: the caller does not review the catalogue


def region_of(ctx: AppContext, principal: Principal) -> RegionLabel:
    """The region the caller's scope stands for (its prefix padded back to a code)."""
    prefix = principal.scope.region_prefix
    if not prefix:
        return RegionLabel(None, None)
    code = prefix.ljust(6, "0")
    with ctx.unit_of_work() as uow:
        region = uow.regions.get(code)
        return RegionLabel(code, region.name if region is not None else None)


def console_overview(ctx: AppContext, principal: Principal) -> ConsoleOverview:
    principal.require(Permission.SCHEME_READ)
    scope = principal.scope
    with ctx.unit_of_work() as uow:
        schemes = console_figures.scheme_counts(uow.session, scope)
        counts = statistics.totals(uow.session, scope)
        pending = (
            catalogue_review.institution_counts(uow.session, scope)[ApprovalStatus.PENDING]
            if principal.can(Permission.CATALOGUE_APPROVE)
            else None
        )
    return ConsoleOverview(
        region=region_of(ctx, principal),
        schemes=schemes,
        vouchers_issued=counts.issued,
        vouchers_used=counts.used,
        vouchers_completed=counts.completed,
        amount_issued_fen=counts.face_value_fen,
        pending_institutions=pending,
    )


@dataclass(frozen=True)
class IssuanceProgress:
    code: str
    name: str
    status: SchemeStatus
    issuance: IssuanceMode
    quota: int
    issued: int
    available_fen: int
    face_value_max_fen: int
    by_status: dict[VoucherStatus, int]
    eligible_left: int | None  # push schemes: eligible people still without a voucher

    @property
    def used(self) -> int:
        """Vouchers taken to an institution (enrolled or further along, settled included)."""
        return sum(
            self.by_status[s]
            for s in (
                VoucherStatus.ENROLLED,
                VoucherStatus.IN_TRAINING,
                VoucherStatus.COMPLETED,
                VoucherStatus.SETTLED,
            )
        )

    @property
    def quota_left(self) -> int:
        return self.quota - self.issued

    @property
    def affordable(self) -> int:
        """How many more vouchers the scheme's remaining budget pays for."""
        return self.available_fen // self.face_value_max_fen if self.face_value_max_fen else 0


def issuance_progress(ctx: AppContext, principal: Principal, code: str) -> IssuanceProgress:
    """A scheme's issuance so far: issued against the quota, its vouchers by status and, for a
    push scheme, how many eligible people still wait for one."""
    principal.require(Permission.SCHEME_READ)
    with ctx.unit_of_work() as uow:
        scheme = scheme_in_scope(uow.session, principal.scope, code)
        if scheme is None:
            raise NotFound(f"scheme {code} is not known")
        by_status = console_figures.voucher_counts(uow.session, scheme.id)
        progress = IssuanceProgress(
            code=scheme.code,
            name=scheme.name,
            status=scheme.status,
            issuance=scheme.issuance_mode,
            quota=scheme.quota,
            issued=scheme.issued_count,
            available_fen=scheme.available_fen,
            face_value_max_fen=scheme.face_value_max_fen,
            by_status=by_status,
            eligible_left=None,
        )
    if progress.issuance is IssuanceMode.PUSH and progress.status is not SchemeStatus.DRAFT:
        progress = replace(progress, eligible_left=eligible_count(ctx, progress.code))
    return progress


def fund_available_fen(ctx: AppContext, principal: Principal, region_code: str) -> int | None:
    """What the region's special fund holds unallocated (what a launch can draw on); None when
    the caller may not read funds or the region lies outside its scope."""
    if not principal.can(Permission.FUND_READ) or not principal.scope.covers_region(region_code):
        return None
    with ctx.unit_of_work() as uow:
        return uow.ledger.balances(region_code)[Account.FUND_AVAILABLE]
