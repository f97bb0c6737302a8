"""The stage both HTTP scenarios share: registered people, their e-SSC sessions, a served app.

It is set with the tests' builders and served with the tests' live server (tests/builders.py,
tests/live_server.py), so the stage is made by the real use cases, as in the load tests.
Workers sign in through ``start_worker_session`` (what the e-SSC callback calls): the runs
measure enrolments and claims, not the e-SSC round-trip.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from benchmarks.database import checked_url
from builders import import_people, person
from live_server import served
from skillvoucher.application.context import AppContext
from skillvoucher.application.sign_in import start_worker_session
from skillvoucher.persistence.tables import Person

SETUP_THREADS = 4  # the setup's own transactions, a few at a time on a 2-core machine


def register_people(ctx: AppContext, count: int) -> list[uuid.UUID]:
    """``count`` eligible people (unemployed, of the default city) through the registry import.

    Their ages go up by one every 20,000 people: the builder makes 25,000 distinct resident IDs
    for one birth date, and the goal's claim rush needs 100,000 people."""
    import_people(ctx, [person(name=f"学员{i}", age=25 + i // 20_000) for i in range(count)])
    with ctx.engine.connect() as connection:
        return list(connection.scalars(sa.select(Person.id).order_by(Person.id)))


def worker_tokens(ctx: AppContext, people: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """A signed-in session for each person: person id -> bearer token."""
    with ThreadPoolExecutor(SETUP_THREADS) as pool:
        tokens = pool.map(lambda p: start_worker_session(ctx, p).token, people)
        return dict(zip(people, tokens, strict=True))


@contextmanager
def served_without_rate_limits(ctx: AppContext, clients: int) -> Iterator[str]:
    """The app on a loopback port with rate limits off: the runs send thousands of requests a
    minute from one address, which production's limits would (rightly) refuse. The pool has a
    connection for every client plus the sign-in lookups."""
    settings = ctx.settings.model_copy(update={"rate_limits_enabled": False})
    with served(ctx, pool_size=clients + 10, settings=settings) as url:
        yield url


HTTP_SCENARIOS = ("enrolment_http", "claim_rush")


def http_database_url(database_url: str) -> str:
    """A database of its own for the HTTP scenarios (created empty, always dropped), beside the
    registry's, which ``--keep`` may be keeping."""
    url = checked_url(database_url)
    name = url.database or ""
    if url.get_backend_name() == "sqlite":
        renamed = name.removesuffix(".db") + "_http.db"
    else:
        renamed = f"{name}_http"
    return url.set(database=renamed).render_as_string(hide_password=False)
