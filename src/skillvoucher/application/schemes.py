"""Create, launch, pause and close schemes; launching allocates the budget from the fund."""

from __future__ import annotations

from dataclasses import dataclass

from skillvoucher.application.context import AppContext
from skillvoucher.application.scheme_files import SchemeDoc, rules_of
from skillvoucher.domain.errors import AlreadyExists, IllegalTransition, InvalidInput, NotFound
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.ledger import JournalKind, Movement
from skillvoucher.domain.regions import province_code
from skillvoucher.domain.schemes import SchemeRules, SchemeStatus
from skillvoucher.persistence.tables import Scheme
from skillvoucher.persistence.unit_of_work import UnitOfWork

SCHEME_TRANSITIONS: dict[tuple[SchemeStatus, SchemeStatus], str] = {
    (SchemeStatus.DRAFT, SchemeStatus.ACTIVE): "scheme.launched",
    (SchemeStatus.ACTIVE, SchemeStatus.PAUSED): "scheme.paused",
    (SchemeStatus.PAUSED, SchemeStatus.ACTIVE): "scheme.resumed",
    (SchemeStatus.ACTIVE, SchemeStatus.CLOSED): "scheme.closed",
    (SchemeStatus.PAUSED, SchemeStatus.CLOSED): "scheme.closed",
}


@dataclass(frozen=True)
class SchemeView:
    code: str
    name: str
    region_code: str
    status: SchemeStatus
    quota: int
    issued_count: int
    budget_fen: int
    available_fen: int
    rules: SchemeRules


def _view(scheme: Scheme) -> SchemeView:
    return SchemeView(
        code=scheme.code,
        name=scheme.name,
        region_code=scheme.region_code,
        status=scheme.status,
        quota=scheme.quota,
        issued_count=scheme.issued_count,
        budget_fen=scheme.budget_fen,
        available_fen=scheme.available_fen,
        rules=rules_of(scheme.rules),
    )


def create_scheme(ctx: AppContext, doc: SchemeDoc, launch: bool = True) -> SchemeView:
    """Store a scheme as a draft and, unless told otherwise, launch it in the same transaction."""
    rules = doc.to_rules()
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        if uow.schemes.by_code(rules.code) is not None:
            raise AlreadyExists(f"scheme {rules.code} already exists")
        if uow.regions.get(rules.region_code) is None:
            raise NotFound(f"region {rules.region_code} is not known")
        scheme = Scheme(
            id=new_id(),
            code=rules.code,
            name=rules.name,
            region_code=rules.region_code,
            province_code=province_code(rules.region_code),
            type=rules.type,
            issuance_mode=rules.issuance,
            status=SchemeStatus.DRAFT,
            quota=rules.quota,
            issued_count=0,
            budget_fen=rules.budget_fen,
            available_fen=0,
            face_value_max_fen=rules.face_value.max_fen,
            rules=doc.model_dump(mode="json"),
            created_at=now,
            launched_at=None,
        )
        uow.schemes.add(scheme)
        _audit(ctx, uow, scheme, "scheme.created", {"budget_fen": rules.budget_fen})
        if launch:
            _launch(ctx, uow, scheme)
        uow.commit()
        uow.session.refresh(scheme)
        return _view(scheme)


def change_status(ctx: AppContext, code: str, to: SchemeStatus) -> SchemeView:
    """Move the scheme to ``to``; launching allocates its budget.

    The scheme's row is locked first, as the draft editor locks it (``scheme_drafts``): a
    change of the draft either lands before the launch, which then allocates the new budget,
    or waits and finds the scheme launched. Without the lock a launch could allocate the
    budget it read while the editor stored another.
    """
    with ctx.unit_of_work() as uow:
        scheme = uow.schemes.by_code_for_update(code)
        if scheme is None:
            raise NotFound(f"scheme {code} is not known")
        action = SCHEME_TRANSITIONS.get((scheme.status, to))
        if action is None:
            raise IllegalTransition(f"a {scheme.status.value} scheme cannot become {to.value}")
        if action == "scheme.launched":
            _launch(ctx, uow, scheme)
        else:
            uow.schemes.set_status(scheme.id, to)
            _audit(ctx, uow, scheme, action, {})
        uow.commit()
        uow.session.refresh(scheme)
        return _view(scheme)


LAUNCHED = frozenset({SchemeStatus.ACTIVE, SchemeStatus.PAUSED})


def allocate_more(ctx: AppContext, code: str, amount_fen: int) -> SchemeView:
    """Top a launched scheme's budget up from its region's fund (one transaction): the region's
    unallocated money moves to the scheme, or InsufficientFunds and nothing moves."""
    if amount_fen <= 0:
        raise InvalidInput("an allocation moves a positive amount of fen")
    with ctx.unit_of_work() as uow:
        scheme = uow.schemes.by_code(code)
        if scheme is None:
            raise NotFound(f"scheme {code} is not known")
        if scheme.status not in LAUNCHED:
            raise IllegalTransition(
                f"a {scheme.status.value} scheme takes no allocation; a draft gets its budget "
                "when launched"
            )
        uow.ledger.post(
            Movement(JournalKind.ALLOCATION, amount_fen, scheme.region_code, scheme_id=scheme.id),
            ctx.clock(),
        )
        uow.schemes.add_budget(scheme.id, amount_fen)
        _audit(ctx, uow, scheme, "scheme.budget_allocated", {"allocated_fen": amount_fen})
        uow.commit()
        uow.session.refresh(scheme)
        return _view(scheme)


def _launch(ctx: AppContext, uow: UnitOfWork, scheme: Scheme) -> None:
    """Allocate the whole budget from the region's fund: a scheme never promises unfunded money."""
    now = ctx.clock()
    uow.ledger.post(
        Movement(
            JournalKind.ALLOCATION, scheme.budget_fen, scheme.region_code, scheme_id=scheme.id
        ),
        now,
    )
    scheme.status = SchemeStatus.ACTIVE
    scheme.launched_at = now
    uow.session.flush()
    _audit(ctx, uow, scheme, "scheme.launched", {"allocated_fen": scheme.budget_fen})


def _audit(
    ctx: AppContext, uow: UnitOfWork, scheme: Scheme, action: str, payload: dict[str, int]
) -> None:
    uow.audit.record(
        at=ctx.clock(),
        actor=ctx.actor,
        action=action,
        entity_type="scheme",
        entity_id=scheme.code,
        region_code=scheme.region_code,
        payload=payload,
    )


def get_scheme(ctx: AppContext, code: str) -> SchemeView:
    with ctx.unit_of_work() as uow:
        scheme = uow.schemes.by_code(code)
        if scheme is None:
            raise NotFound(f"scheme {code} is not known")
        return _view(scheme)


def list_schemes(ctx: AppContext) -> list[SchemeView]:
    with ctx.unit_of_work() as uow:
        return [_view(s) for s in uow.schemes.all()]
