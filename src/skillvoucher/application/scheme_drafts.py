"""Change a draft scheme before it is launched: the editor saves a whole new definition under
the same code. A launched scheme is never redefined (its vouchers carry its rules); it is
paused or closed instead."""

from __future__ import annotations

from skillvoucher.application.context import AppContext
from skillvoucher.application.scheme_access import (
    SchemeInfo,
    require_regions_in_scope,
    show_scheme,
)
from skillvoucher.application.scheme_files import SchemeDoc
from skillvoucher.domain.access import Principal
from skillvoucher.domain.errors import IllegalTransition, InvalidInput, NotFound
from skillvoucher.domain.regions import province_code
from skillvoucher.domain.schemes import SchemeStatus
from skillvoucher.persistence.read_models.scoped_drafts import scheme_for_update


def update_draft(ctx: AppContext, principal: Principal, code: str, doc: SchemeDoc) -> SchemeInfo:
    """Replace the definition of the draft ``code`` with ``doc`` (one transaction, audited as
    the caller's act). The draft and the regions ``doc`` names must lie within the caller's
    region; a scheme that is no longer a draft is refused as an illegal transition."""
    require_regions_in_scope(principal, doc)
    if doc.code != code:
        raise InvalidInput("a saved scheme keeps its code")
    rules = doc.to_rules()
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        scheme = scheme_for_update(uow.session, principal.scope, code)
        if scheme is None:
            raise NotFound(f"scheme {code} is not known")
        if scheme.status is not SchemeStatus.DRAFT:
            raise IllegalTransition(
                f"scheme {code} is {scheme.status.value}: only a draft can be changed"
            )
        if uow.regions.get(rules.region_code) is None:
            raise NotFound(f"region {rules.region_code} is not known")
        before = {"region_code": scheme.region_code, "budget_fen": scheme.budget_fen}
        scheme.name = rules.name
        scheme.region_code = rules.region_code
        scheme.province_code = province_code(rules.region_code)
        scheme.type = rules.type
        scheme.issuance_mode = rules.issuance
        scheme.quota = rules.quota
        scheme.budget_fen = rules.budget_fen
        scheme.face_value_max_fen = rules.face_value.max_fen
        scheme.rules = doc.model_dump(mode="json")
        uow.audit.record(
            at=now,
            actor=principal.label,
            action="scheme.draft_changed",
            entity_type="scheme",
            entity_id=scheme.code,
            region_code=scheme.region_code,
            payload={"before": before, "budget_fen": rules.budget_fen},
        )
        uow.commit()
    return show_scheme(ctx, principal, code)
