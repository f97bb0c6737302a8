"""Chunks that cut their own spans, a few at a time (``application/chunk_spans.py``)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import pytest

from skillvoucher.application.chunk_spans import Span, run_spans, spans_until_empty

ITEMS = sorted(uuid.uuid4() for _ in range(23))


def _drawing_chunk(written: list[list[uuid.UUID]], lock: threading.Lock) -> Callable[[Span], int]:
    def chunk(span: Span) -> int:
        after = span.after
        mine = [i for i in ITEMS if after is None or i > after][: span.limit]
        span.draw(mine[-1] if mine else None, len(mine))
        with lock:
            written.append(mine)
        return len(mine)

    return chunk


@pytest.mark.parametrize("workers", [1, 2])
def test_spans_cover_every_item_once_and_report_in_order(workers: int) -> None:
    written: list[list[uuid.UUID]] = []
    counts: list[int] = []
    chunk = _drawing_chunk(written, threading.Lock())
    run_spans(spans_until_empty(5), chunk, counts.append, workers=workers, name="test")
    assert counts == [5, 5, 5, 5, 3, 0]
    assert sorted(i for span in written for i in span) == ITEMS


def test_a_chunk_failing_before_it_draws_stops_the_job() -> None:
    started: list[uuid.UUID | None] = []

    def chunk(span: Span) -> int:
        started.append(span.after)
        if span.after is not None:
            raise RuntimeError("refused")
        span.draw(ITEMS[4], 5)
        return 5

    counts: list[int] = []
    with pytest.raises(RuntimeError, match="refused"):
        run_spans(spans_until_empty(5), chunk, counts.append, workers=2, name="test")
    assert started == [None, ITEMS[4]]  # no span was cut after the failed one
