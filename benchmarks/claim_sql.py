"""The claim rush's two straight-SQL runs, at the same concurrency, from the same kind of client.

- The baseline: one hot counter row, ``UPDATE bench_hot_row SET n = n + 1 WHERE id = 1 AND
  n < Q`` per request, autocommit: the least a first-come quota on one row can cost.
- The gate: skillvoucher's striped quota gate (``application/quota_gate.py``), as the SQL its
  repository sends (``persistence/repositories/quota_stripes.py``: ``take``, ``nearest_open``
  and ``gate``), on a real scheme's stripes: while places are left, one statement, autocommit:
  a conditional UPDATE of the claim's home stripe that also closes the stripe on the scheme's
  gate row when it takes the last place (a WITH of two UPDATEs); a claim whose home stripe is full
  reads the nearest open stripe and takes a place there; once the client has found every
  stripe full, one read of the gate row refuses it. In the app a claim that read the scheme
  row with its count at the quota is refused before any of this: the losers here pay more
  than the app's. Run twice: asking the database for every claim, and with the memory a
  server process keeps of a quota it found gone (``quota_gate.ExhaustedQuotas``, the app's
  default ``quota_exhausted_memory_seconds``), under which a loser costs no statement while
  the memory is fresh. The 64 clients are one process's threads, so they share one memory, as
  the requests of one ``serve`` process do.

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
from skillvoucher.application.quota_gate import ExhaustedQuotas
from skillvoucher.domain.quota_stripes import STRIPES

Request = Callable[[psycopg.Connection, int], int]
"""Send request ``r`` on a connection; 1 if it was granted a place, else 0."""

GATE_NEAREST_OPEN = (
    "SELECT stripe FROM scheme_quota_stripes WHERE scheme_id = %(scheme)s AND taken < quota"
    " ORDER BY (stripe - %(home)s + %(stripes)s) %% %(stripes)s LIMIT 1"
)
GATE_TAKE = (
    "WITH took AS (UPDATE scheme_quota_stripes SET taken = taken + 1"
    " WHERE scheme_id = %(scheme)s AND stripe = %(stripe)s AND taken < quota"
    " RETURNING taken >= quota AS filled),"
    " closed AS (UPDATE scheme_quota_gates SET open_stripes = open_stripes - 1"
    " WHERE scheme_id = %(scheme)s AND (SELECT filled FROM took) RETURNING scheme_id)"
    " SELECT filled FROM took"
)
GATE_READ = "SELECT open_stripes, quota FROM scheme_quota_gates WHERE scheme_id = %(scheme)s"


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


def gate_rate(
    ctx: AppContext,
    scheme_id: uuid.UUID,
    quota: int,
    requests: int,
    clients: int,
    memory_seconds: float = 0.0,
) -> SqlRun:
    """Claims decided by the striped gate per second, and how many were granted a place (the
    scheme's stripes laid out beforehand, all places free). Each connection keeps the hint a
    server process keeps (``quota_gate._seen_exhausted``): once it has found every stripe
    full, it reads the gate row first instead of trying an UPDATE. With ``memory_seconds``,
    the clients share an ``ExhaustedQuotas`` as the app's requests do: a full quota found by
    one refuses the others with no statement for that long."""
    memory = ExhaustedQuotas(memory_seconds)
    key = str(scheme_id)

    def take(connection: psycopg.Connection, stripe: int) -> int:
        # One statement, autocommit: the UPDATE that may fill the stripe and the gate row's
        # count that then follows it commit together.
        took = connection.execute(GATE_TAKE, {"scheme": scheme_id, "stripe": stripe})
        return 0 if took.fetchone() is None else 1

    def client_gate() -> Request:
        seen_exhausted = False

        def request(connection: psycopg.Connection, r: int) -> int:
            nonlocal seen_exhausted
            if memory.known(key):
                return 0  # found gone a moment ago: refused with no statement
            home = r % STRIPES
            if seen_exhausted:
                gate = connection.execute(GATE_READ, {"scheme": scheme_id}).fetchone()
                assert gate is not None
                if gate[0] == 0 and gate[1] >= quota:
                    memory.note(key)
                    return 0  # every stripe full: quota exhausted, answered by one read
                seen_exhausted = False
            if take(connection, home):
                return 1
            where = {"scheme": scheme_id, "home": home, "stripes": STRIPES}
            while True:
                row = connection.execute(GATE_NEAREST_OPEN, where).fetchone()
                if row is None:
                    seen_exhausted = True
                    memory.note(key)
                    return 0
                if take(connection, int(row[0])):
                    return 1
                # That stripe's last place went to another claim meanwhile: read again.

        return request

    return _run(_psycopg_url(ctx), requests, clients, client_gate)
