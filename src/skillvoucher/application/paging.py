"""Cursor pagination for the API's lists: keyset on time-ordered (UUIDv7) ids.

A cursor is the id of the last row of the page before; the next page starts after it in the
list's own order. Asking for one row more than the page tells whether another page exists.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from skillvoucher.domain.errors import InvalidInput

MAX_PAGE = 200

Item = TypeVar("Item")


@dataclass(frozen=True)
class Page(Generic[Item]):
    items: list[Item]
    next_cursor: str | None  # give it back for the next page; None on the last page


def cursor_id(cursor: str | None) -> uuid.UUID | None:
    """The id a cursor stands for; a cursor this service did not give out is bad input."""
    if not cursor:
        return None
    try:
        return uuid.UUID(cursor)
    except ValueError:
        raise InvalidInput("the cursor is not one this service gave out") from None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    return limit


Row = TypeVar("Row")


def page_of(rows: Sequence[Row], limit: int, id_of: Callable[[Row], uuid.UUID]) -> Page[Row]:
    """The first ``limit`` of ``rows`` (fetched with ``limit + 1``) and the cursor after them."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items, str(id_of(items[-1])) if more and items else None)
