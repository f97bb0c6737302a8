"""The SQL an engine sends while a block runs, for tests that count or inspect statements."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa


@contextmanager
def statements_sent(
    engine: sa.Engine, keep: Callable[[str], bool] = lambda _statement: True
) -> Iterator[list[str]]:
    """Every statement ``engine`` sends inside the block that ``keep`` accepts, its
    whitespace flattened to single spaces, in the order sent."""
    sent: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        flat = " ".join(statement.split())
        if keep(flat):
            sent.append(flat)

    sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", listen)
