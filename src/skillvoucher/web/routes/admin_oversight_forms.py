"""What the oversight pages of the administrator console share: amounts typed in yuan, days
typed as dates, and the sentences shown after an action succeeded (named in the redirect's
query string, never carrying personal data)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import urlencode

from pydantic import BeforeValidator

from skillvoucher.domain.timekeeping import start_of_local_day
from skillvoucher.web.forms import FieldProblem
from skillvoucher.web.i18n import N_

# Far above any region's budget, far below what a 64-bit column holds (as the API's limit).
MAX_AMOUNT_FEN = 10**12
_YUAN = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
# A resident ID number (18 characters, or the old 15 digits): never a search term in a URL.
RESIDENT_ID_SHAPE = re.compile(r"^(\d{17}[\dXx]|\d{15})$")


def yuan_to_fen(value: object) -> int:
    """'1200' or '1,200.50' yuan as an exact number of fen (Decimal, never a float)."""
    text = str(value).strip().replace(",", "").replace("，", "").lstrip("¥￥")
    if not _YUAN.match(text):
        raise FieldProblem(N_("Enter an amount in yuan with at most two decimals, e.g. 1200.50."))
    try:
        fen = int(Decimal(text) * 100)
    except InvalidOperation:  # the pattern already rules it out
        raise FieldProblem(
            N_("Enter an amount in yuan with at most two decimals, e.g. 1200.50.")
        ) from None
    if fen <= 0:
        raise FieldProblem(N_("The amount must be more than zero."))
    if fen > MAX_AMOUNT_FEN:
        raise FieldProblem(N_("The amount is too large."))
    return fen


YuanAmount = Annotated[int, BeforeValidator(yuan_to_fen)]


def not_an_id_number(value: object) -> object:
    if isinstance(value, str) and RESIDENT_ID_SHAPE.match(value.strip()):
        raise FieldProblem(N_("Search by the record's internal id, never by an ID number."))
    return value


def day_range(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """Whole days in Asia/Shanghai, ``first`` to ``last`` inclusive, as UTC bounds."""
    since = start_of_local_day(first) if first is not None else None
    until = start_of_local_day(last + timedelta(days=1)) if last is not None else None
    return since, until


def with_query(path: str, **values: object) -> str:
    """``path`` with the non-empty ``values`` as its query string."""
    kept = {k: str(v) for k, v in values.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


DONE_MESSAGES = {
    "deposited": N_("The deposit was recorded."),
    "transfer_requested": N_("The transfer was requested; two other people must approve it."),
    "transfer_approved": N_("Your approval of the transfer was recorded."),
    "transfer_rejected": N_("The transfer was rejected; nothing moved."),
    "approved": N_("The batch is approved."),
    "approved_once": N_("First approval recorded: another person must approve the batch too."),
    "published": N_("The batch is on public notice."),
    "paid": N_("The batch is marked paid."),
    "suspended": N_("The institution is suspended."),
    "reinstated": N_("The institution is reinstated."),
}
