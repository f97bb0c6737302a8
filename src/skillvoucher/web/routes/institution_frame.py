"""What every page of the institution portal shares: who may open it, and the confirmations
shown after a change (POST-redirect-GET carries only a fixed keyword in the URL)."""

from __future__ import annotations

from typing import Annotated

from skillvoucher.domain.access import Principal, Role
from skillvoucher.web.i18n import N_, translate
from skillvoucher.web.session import for_roles

Staff = Annotated[Principal, for_roles(Role.INSTITUTION_STAFF)]

DONE_MESSAGES = {
    "enrolled": N_("The holder is enrolled."),
    "attended": N_("The attendance is recorded."),
    "attended_before": N_("This attendance had been recorded before; nothing changed."),
    "completed": N_("The completion is recorded."),
}


def done_message(language: str, done: str | None) -> str | None:
    message = DONE_MESSAGES.get(done or "")
    return translate(language, message) if message else None
