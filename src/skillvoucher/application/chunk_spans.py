"""Chunks of a bulk job that cut their own spans of ids, run a few at a time.

A chunk's span is (``after``, ``last``] by id, at most ``limit`` items. The chunk draws it
itself, first thing in the transaction that writes it: it selects its items, fixes ``last``
and ``count``, and the job cuts the next span from ``last`` at once, while this chunk writes.
So the items are selected once, not once to cut the spans and again to write them, and spans
written at the same time never share an item. A retried chunk stays within the span it drew.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor


class Span:
    """Up to ``limit`` items after ``after``; ``last`` and ``count`` once drawn."""

    def __init__(self, after: uuid.UUID | None, limit: int) -> None:
        self.after = after
        self.limit = limit
        self.last: uuid.UUID | None = None
        self.count = 0
        self._drawn = threading.Event()
        self._failed: BaseException | None = None

    @property
    def is_drawn(self) -> bool:
        return self._drawn.is_set()

    def draw(self, last: uuid.UUID | None, count: int) -> None:
        """Fix the span at ``count`` items up to ``last`` (None: nothing is left after
        ``after``)."""
        self.last, self.count = last, count if last is not None else 0
        self._drawn.set()

    def fail(self, error: BaseException) -> None:
        """The chunk gave up before drawing: the job stops with its error."""
        if not self._drawn.is_set():
            self._failed = error
            self._drawn.set()

    def wait_drawn(self) -> None:
        self._drawn.wait()
        if self._failed is not None:
            raise self._failed


def spans_until_empty(limit: int) -> Iterable[Span]:
    """Spans of ``limit`` in id order until one draws nothing; each is drawn (by its chunk)
    before the next is made."""
    after = None
    while True:
        span = Span(after, limit)
        yield span
        if not span.is_drawn:
            raise AssertionError("a span was not drawn before the next one")
        if span.last is None:
            return
        after = span.last


def run_spans(
    spans: Iterable[Span],
    chunk: Callable[[Span], int],
    done: Callable[[int], None],
    *,
    workers: int,
    name: str,
) -> None:
    """Run ``chunk`` on each span, ``workers`` at a time, and hand each result to ``done`` in
    the spans' order. ``chunk`` must draw its span (or fail) before the next span can be cut.
    With one worker, everything runs in the calling thread."""
    if workers == 1:
        for span in spans:
            done(_drawing(chunk, span))
        return
    with ThreadPoolExecutor(workers, thread_name_prefix=name) as pool:
        # At most one chunk waits beside those being written: memory stays flat.
        running: deque[Future[int]] = deque()
        for span in spans:
            running.append(pool.submit(_drawing, chunk, span))
            span.wait_drawn()
            while len(running) > workers or (running and running[0].done()):
                done(running.popleft().result())
        while running:
            done(running.popleft().result())


def _drawing(chunk: Callable[[Span], int], span: Span) -> int:
    try:
        return chunk(span)
    except BaseException as error:
        span.fail(error)
        raise
