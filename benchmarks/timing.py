"""Clocks for the scenarios: repeated timings, percentiles, and rates measured side by side."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


def together(clients: int, client: Callable[[int, Callable[[], object]], None]) -> float:
    """Run ``client(index, ready)`` in ``clients`` threads; each calls ``ready()`` once set up
    (connected), and the clock starts when all have: seconds until the last one ends."""
    barrier = threading.Barrier(clients + 1)
    threads = [threading.Thread(target=client, args=(i, barrier.wait)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def seconds_of(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def timings(action: Callable[[], object], times: int) -> list[float]:
    """Seconds of each of ``times`` calls (after one untimed warm-up call)."""
    action()
    return [seconds_of(action) for _ in range(times)]


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value at or above ``share`` of the values."""
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _rate(action: Callable[[], object], seconds: float) -> float:
    done = 0
    batch = 1
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(batch):
            action()
        done += batch
        batch = min(batch * 2, 1024)
    return done / (time.perf_counter() - start) if elapsed else 0.0


def paired_rates(
    measured: Callable[[], object],
    baseline: Callable[[], object],
    seconds: float,
    rounds: int,
) -> tuple[float, float]:
    """Calls per second of each, the best of ``rounds`` alternating rounds.

    Alternating, and keeping each side's best round, puts both through the same moments of a
    machine that other work shares, so their ratio means more than either rate alone.
    """
    best_measured = best_baseline = 0.0
    for _ in range(rounds):
        best_baseline = max(best_baseline, _rate(baseline, seconds))
        best_measured = max(best_measured, _rate(measured, seconds))
    return best_measured, best_baseline
