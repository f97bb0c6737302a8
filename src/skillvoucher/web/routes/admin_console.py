"""What every page of the administrator console shares: who may open it, and the regions an
administrator may pick from."""

from __future__ import annotations

from skillvoucher.application.context import AppContext
from skillvoucher.application.regions_import import region_list
from skillvoucher.domain.access import Principal, Role
from skillvoucher.web.session import for_roles

CONSOLE = for_roles(Role.CITY_ADMIN, Role.PROVINCE_ADMIN, Role.AUDITOR)
"""The console is for administrators and auditors; what each may do inside is a permission."""


def regions_in_scope(ctx: AppContext, principal: Principal) -> list[tuple[str, str]]:
    """(code, "code name") of every known region within the principal's scope."""
    return [
        (r.code, f"{r.code} {r.name}")
        for r in region_list(ctx)
        if principal.scope.covers_region(r.code)
    ]
