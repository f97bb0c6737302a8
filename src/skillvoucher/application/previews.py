"""Preview a scheme before it exists: how many people qualify now and what budget it needs."""

from __future__ import annotations

from dataclasses import dataclass

from skillvoucher.application.context import AppContext
from skillvoucher.application.scheme_files import SchemeDoc
from skillvoucher.domain.errors import NotFound
from skillvoucher.domain.timekeeping import local_date, start_of_local_year
from skillvoucher.persistence.eligibility_sql import eligibility_condition


@dataclass(frozen=True)
class SchemePreview:
    eligible: int  # people who qualify today
    reachable: int  # of those, how many the quota lets in
    budget_needed_fen: int  # to give every reachable person the largest face value
    budget_fen: int  # what the scheme asks from the fund

    @property
    def budget_covers(self) -> bool:
        return self.budget_fen >= self.budget_needed_fen


def preview_scheme(ctx: AppContext, doc: SchemeDoc) -> SchemePreview:
    """Count with the same SQL a push would use; nothing is written."""
    rules = doc.to_rules()
    today = local_date(ctx.clock())
    with ctx.unit_of_work() as uow:
        if uow.regions.get(rules.region_code) is None:
            raise NotFound(f"region {rules.region_code} is not known")
        eligible = uow.people.count_matching(
            eligibility_condition(rules, today, start_of_local_year(today))
        )
    reachable = min(eligible, rules.quota)
    return SchemePreview(
        eligible=eligible,
        reachable=reachable,
        budget_needed_fen=reachable * rules.face_value.max_fen,
        budget_fen=rules.budget_fen,
    )
