"""A bounded HTTP load: a list of requests sent by C concurrent clients, each answer timed.

The clients run in a child process of their own (spawned): the server under test
(tests/live_server.py ``served``) runs in the benchmark's process, and clients sharing its
interpreter lock would slow it down and be slowed by it. Each client is a thread with its own
httpx2 client (one keep-alive connection), sending its share of the requests one after another.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx2 as httpx

from benchmarks.timing import percentile, together


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    token: str
    body: dict[str, str] | None = None


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer (connection dropped, timeout)
    code: str | None  # the problem's code for a 4xx/5xx problem+json answer
    seconds: float


@dataclass(frozen=True)
class HttpRun:
    answers: list[Answer]
    seconds: float  # wall time from the first request sent to the last answer

    @property
    def rate(self) -> float:
        return len(self.answers) / self.seconds if self.seconds else 0.0

    def latency(self, share: float, statuses: set[int] | None = None) -> float:
        times = [a.seconds for a in self.answers if statuses is None or a.status in statuses]
        return percentile(times, share) if times else 0.0

    def outcomes(self) -> Counter[tuple[int, str | None]]:
        return Counter((a.status, a.code) for a in self.answers)


def _send(http: httpx.Client, call: Call) -> Answer:
    started = time.perf_counter()
    try:
        reply = http.request(
            call.method,
            call.path,
            json=call.body,
            headers={"Authorization": f"Bearer {call.token}"},
        )
    except httpx.HTTPError:
        return Answer(0, "no answer", time.perf_counter() - started)
    seconds = time.perf_counter() - started
    code = None
    if reply.status_code >= 400:
        try:
            found = reply.json().get("code")
        except ValueError:
            found = None
        code = found if isinstance(found, str) else "not a problem"
    return Answer(reply.status_code, code, seconds)


def fire(url: str, calls: Sequence[Call], clients: int) -> HttpRun:
    """Send ``calls`` from ``clients`` threads (client i takes calls i, i + C, …) at once."""
    answers: list[list[Answer]] = [[] for _ in range(clients)]

    def client(index: int, ready: Callable[[], object]) -> None:
        with httpx.Client(base_url=url, timeout=120) as http:
            ready()
            answers[index] = [_send(http, call) for call in calls[index::clients]]

    seconds = together(clients, client)
    return HttpRun([a for share in answers for a in share], seconds)


def fire_apart(url: str, calls: Sequence[Call], clients: int) -> HttpRun:
    """``fire`` in a spawned child process, away from the server's interpreter lock."""
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(1) as pool:
        return pool.apply(fire, (url, list(calls), clients))
