"""The claim rush's two straight-SQL runs, at the same concurrency, from the same kind of client.

- The baseline: one hot counter row, ``UPDATE bench_hot_row SET n = n + 1 WHERE id = 1 AND
  n < Q`` per request, autocommit: the least a first-come quota on one row can cost.
- The gate: skillvoucher's striped quota gate (``application/quota_gate.py``), as the SQL its
  repository sends (``persistence/repositories/quota_stripes.py``: ``take_nearest``, then
  ``nearest_open`` and ``take``), on a real scheme's stripes, autocommit: while places are
  left, one conditional UPDATE of the open stripe nearest the claim's home stripe; once the
  client has found every stripe full, one read that picks the nearest open stripe (none: the
  claim is refused) and the UPDATE only if it finds one. In the app a claim that read the
  scheme row with its count at the quota is refused before any of this: the losers here pay
  more than the app's.

Each client is a thread with its own psycopg connection sending its share of the R requests
one after another (request r is person r, whose home stripe is r mod 32); a barrier starts
them together. Reported: requests per second and how many were granted a place.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from benchmarks.timing import together
from skillvoucher.application.context import AppContext
from skillvoucher.domain.quota_stripes import STRIPES

Request = Callable[[psycopg.Connection, int], int]
"""Send request ``r`` on a connection; 1 if it was granted a place, else 0."""

GATE_NEAREST_OPEN = (
    "SELECT stripe FROM scheme_quota_stripes WHERE scheme_id = %(scheme)s AND taken < quota"
    " ORDER BY (stripe - %(home)s + %(stripes)s) %% %(stripes)s LIMIT 1"
)
GATE_TAKE_NEAREST = (
    "UPDATE scheme_quota_stripes SET taken = taken + 1"
    " WHERE scheme_id = %(scheme)s AND taken < quota AND stripe = ("
    "SELECT stripe FROM scheme_quota_stripes WHERE scheme_id = %(scheme)s AND taken < quota"
    " ORDER BY (stripe - %(home)s + %(stripes)s) %% %(stripes)s LIMIT 1)"
)
GATE_TAKE = (
    "UPDATE scheme_quota_stripes SET taken = taken + 1"
    " WHERE scheme_id = %(scheme)s AND stripe = %(stripe)s AND taken < quota"
)


def _psycopg_url(ctx: AppContext) -> str:
    return ctx.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class SqlRun:
    rate: float
    """Requests answered per second, winners and losers."""
    granted: int
    last_grant: float
    """Seconds from the start to the last place granted: the winners' phase."""
    seconds: float


def _run(url: str, requests: int, clients: int, per_client: Callable[[], Request]) -> SqlRun:
    """Run ``requests`` from ``clients`` threads, each with its own connection and its own
    ``per_client()`` request function."""
    granted = [0] * clients
    last_grant = [0.0] * clients

    def client(index: int, ready: Callable[[], object]) -> None:
        request = per_client()
        with psycopg.connect(url, autocommit=True) as connection:
            ready()
            for r in range(index, requests, clients):
                if request(connection, r):
                    granted[index] += 1
                    last_grant[index] = time.perf_counter()

    seconds = together(clients, client)
    started = time.perf_counter() - seconds  # when the barrier let the clients go
    return SqlRun(requests / seconds, sum(granted), max(last_grant) - started, seconds)


def hot_row_rate(ctx: AppContext, quota: int, requests: int, clients: int) -> SqlRun:
    """Conditional UPDATEs of one row per second, and how many of them took a unit."""
    url = _psycopg_url(ctx)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_hot_row")
        connection.execute("CREATE TABLE bench_hot_row (id int PRIMARY KEY, n int NOT NULL)")
        connection.execute("INSERT INTO bench_hot_row VALUES (1, 0)")

    def request(connection: psycopg.Connection, r: int) -> int:
        cursor = connection.execute(
            "UPDATE bench_hot_row SET n = n + 1 WHERE id = 1 AND n < %s", (quota,)
        )
        return cursor.rowcount

    try:
        return _run(url, requests, clients, lambda: request)
    finally:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("DROP TABLE bench_hot_row")


def gate_rate(ctx: AppContext, scheme_id: uuid.UUID, requests: int, clients: int) -> SqlRun:
    """Claims decided by the striped gate per second, and how many were granted a place (the
    scheme's stripes laid out beforehand, all places free). Each connection keeps the hint a
    server process keeps (``quota_gate._seen_exhausted``): once it has read every stripe full,
    it reads first instead of trying an UPDATE."""

    def client_gate() -> Request:
        seen_exhausted = False

        def request(connection: psycopg.Connection, r: int) -> int:
            nonlocal seen_exhausted
            home = r % STRIPES
            where = {"scheme": scheme_id, "home": home, "stripes": STRIPES}
            if not seen_exhausted and connection.execute(GATE_TAKE_NEAREST, where).rowcount:
                return 1
            while True:
                row = connection.execute(GATE_NEAREST_OPEN, where).fetchone()
                if row is None:
                    seen_exhausted = True
                    return 0  # every stripe full: quota exhausted, answered without a write
                seen_exhausted = False
                stripe = int(row[0])
                took = connection.execute(GATE_TAKE, {"scheme": scheme_id, "stripe": stripe})
                if took.rowcount == 1:
                    return 1
                # That stripe's last place went to another claim meanwhile: read again.

        return request

    return _run(_psycopg_url(ctx), requests, clients, client_gate)
