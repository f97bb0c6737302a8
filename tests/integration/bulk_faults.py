"""Faults injected into bulk jobs on PostgreSQL, and the jobs' end state checked against an
uninterrupted twin. Shared by tests/integration/test_bulk_retries_postgres.py and
benchmarks/faults_bulk_jobs.py.

A fault fires when the job's engine is about to run its Nth statement of a kind (INSERT,
UPDATE, COMMIT…): it kills that connection with pg_terminate_backend (what a server restart
or an administrator does), kills every connection the engine has opened (a restart as the
job sees it, without stopping a server other tests share), and may then refuse the next few
connection attempts (a server still starting up); or it makes the server itself refuse the
transaction with a serialization failure (40001) or a deadlock (40P01). Or, at a COMMIT,
it lets the commit land and then reports the connection lost (the reply never came back):
the job cannot know its chunk was saved. The jobs run in-process and must finish in the same
call, retrying the chunks the faults broke.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session
from test_crash_safety import (
    MARCH,
    PEOPLE,
    PUSH_FACE,
    audited_expiries,
    issued_state,
    posted_by_voucher,
    push_scheme,
    settled_state,
    settlement_world,
)

from builders import Clock, deposit, import_people, person
from skillvoucher.application import issuance, lifecycle, settlement
from skillvoucher.application.audit_verify import verify_audit_chain
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.domain.ledger import Account, JournalKind
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.tables import Person, SettlementLine, Voucher

Action = Literal["kill", "kill all", "40001", "40P01", "landed"]


@dataclass(frozen=True)
class Fault:
    statement: str
    """INSERT, UPDATE, SELECT… or COMMIT (the driver's commit, not a statement)."""
    ordinal: int
    """Fires at the job's ``ordinal``-th statement of that kind, counting from 1."""
    action: Action = "kill"
    refuse: int = 0
    """Connection attempts refused after the fault, as by a server starting up."""

    def __str__(self) -> str:
        refused = f", {self.refuse} connects refused" if self.refuse else ""
        return f"{self.action} at {self.statement} #{self.ordinal}{refused}"


@dataclass
class Injection:
    fired: list[Fault] = field(default_factory=list)
    refused: int = 0


class _RetryLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.retries = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.retries += 1


@contextmanager
def counted_retries() -> Iterator[_RetryLog]:
    """Counts the retries the policy logs while the block runs."""
    logger = logging.getLogger("skillvoucher.application.retries")
    handler = _RetryLog()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@contextmanager
def injected(ctx: AppContext, faults: Sequence[Fault]) -> Iterator[Injection]:
    """Fire ``faults`` on ``ctx``'s engine while the block runs."""
    url = ctx.engine.url.render_as_string(hide_password=False)
    killer = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    injection = Injection()
    seen: Counter[str] = Counter()
    backends: set[int] = set()
    refusing = 0
    landing = False  # the commit under way lands, then its connection "breaks"
    busy = False  # the hook's own statements must not count or fire

    def terminate(pids: set[int]) -> None:
        with killer.connect() as connection:
            for pid in sorted(pids):
                # The timeout makes it wait until the backend is gone, not just signalled.
                connection.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})

    def fire(conn: sa.Connection, kind: str) -> None:
        nonlocal busy, refusing, landing
        if busy:
            return
        seen[kind] += 1
        for fault in faults:
            if fault.statement != kind or fault.ordinal != seen[kind]:
                continue
            injection.fired.append(fault)
            pid = conn.connection.dbapi_connection.info.backend_pid  # type: ignore[union-attr]
            busy = True
            try:
                if fault.action == "kill":
                    terminate({pid})
                elif fault.action == "kill all":
                    terminate(backends | {pid})
                    refusing = fault.refuse
                elif fault.action == "landed":
                    landing = True
                else:
                    conn.exec_driver_sql(
                        "DO $$ BEGIN RAISE EXCEPTION 'injected' "
                        f"USING ERRCODE = '{fault.action}'; END $$"
                    )
            finally:
                busy = False

    def before_execute(conn: sa.Connection, _cursor: Any, statement: str, *_: Any) -> None:
        fire(conn, statement.lstrip().split(None, 1)[0].upper())

    def before_commit(conn: sa.Connection) -> None:
        fire(conn, "COMMIT")

    def after_commit(_session: Session) -> None:
        nonlocal landing
        if landing:
            landing = False
            lost = psycopg.OperationalError("server closed the connection unexpectedly")
            raise sa.exc.OperationalError("COMMIT", {}, lost)

    def on_checkout(dbapi_connection: Any, *_: Any) -> None:
        backends.add(dbapi_connection.info.backend_pid)

    def do_connect(*_: Any) -> None:
        nonlocal refusing
        if refusing > 0:
            refusing -= 1
            injection.refused += 1
            raise psycopg.OperationalError("connection refused: the server is starting up")

    hooks: list[tuple[Any, str, Any]] = [
        (ctx.engine, "before_cursor_execute", before_execute),
        (ctx.engine, "commit", before_commit),
        (ctx.engine.pool, "checkout", on_checkout),
        (ctx.engine.dialect, "do_connect", do_connect),
        (Session, "after_commit", after_commit),
    ]
    for target, name, hook in hooks:
        sa.event.listen(target, name, hook)
    try:
        yield injection
    finally:
        for target, name, hook in hooks:
            sa.event.remove(target, name, hook)
        killer.dispose()


@dataclass(frozen=True)
class Outcome:
    job: str
    faults: list[Fault]
    retries: int
    expected: int
    found: int
    twin_equal: bool
    ledger_balanced: bool
    audit_chain_ok: bool
    seconds: float
    result: object

    @property
    def ok(self) -> bool:
        return self.twin_equal and self.ledger_balanced and self.audit_chain_ok


def _run(ctx: AppContext, faults: Sequence[Fault], job: Any, *args: Any) -> tuple[Any, Any, Any]:
    started = time.monotonic()
    with counted_retries() as log, injected(ctx, faults) as injection:
        result = job(ctx, *args)
    return result, (injection, log.retries), time.monotonic() - started


def _books(ctx: AppContext) -> tuple[bool, bool]:
    return ledger_problems(ctx) == [], verify_audit_chain(ctx).intact


# --- Push issuance ---------------------------------------------------------------------------


def push_with_faults(ctx: AppContext, people: int, faults: Sequence[Fault]) -> Outcome:
    """Two push schemes over the same ``people`` (at most PEOPLE): one pushed undisturbed, one
    under faults."""
    import_people(ctx, [person(name=f"求职者{i}") for i in range(people)])
    deposit(ctx, 2 * PEOPLE * PUSH_FACE)
    reference = push_scheme(ctx, "TY-2026-CALM")
    faulted = push_scheme(ctx, "TY-2026-FAULT")
    issuance.push_issue(ctx, reference.code)
    result, (injection, retries), seconds = _run(ctx, faults, issuance.push_issue, faulted.code)
    expected, found = issued_state(ctx, reference.code), issued_state(ctx, faulted.code)
    with ctx.unit_of_work() as uow:
        everyone = Counter(uow.session.scalars(sa.select(Person.id)))
    balanced, chain = _books(ctx)
    return Outcome(
        "push issuance",
        injection.fired,
        retries,
        people,
        sum(found.holders.values()),
        found == expected and found.holders == everyone,
        balanced,
        chain,
        seconds,
        result,
    )


# --- Expiry ----------------------------------------------------------------------------------


def expiry_with_faults(ctx: AppContext, clock: Clock, due: int, faults: Sequence[Fault]) -> Outcome:
    """``due`` vouchers past their validity expire under faults, next to as many lasting
    ones; expected: each due voucher expired, released and audited exactly once."""
    import_people(ctx, [person(name=f"求职者{i}") for i in range(due)])
    deposit(ctx, 2 * PEOPLE * PUSH_FACE)
    short = push_scheme(ctx, "TY-2026-SHORT", validity_days=30)
    lasting = push_scheme(ctx, "TY-2026-LONG", validity_days=3650)
    issuance.push_issue(ctx, short.code)
    issuance.push_issue(ctx, lasting.code)
    with ctx.unit_of_work() as uow:
        faces = dict(
            uow.session.execute(
                sa.select(Voucher.id, Voucher.face_value_fen).where(Voucher.scheme_id == short.id)
            ).all()
        )
    clock.advance(timedelta(days=60))
    result, (injection, retries), seconds = _run(ctx, faults, lifecycle.expire_vouchers)
    with ctx.unit_of_work() as uow:
        statuses = Counter(
            (scheme, status)
            for scheme, status in uow.session.execute(sa.select(Voucher.scheme_id, Voucher.status))
        )
    events = audited_expiries(ctx)
    released = posted_by_voucher(ctx, JournalKind.RELEASE, Account.COMMITTED)
    twin_equal = (
        statuses
        == Counter(
            {(short.id, VoucherStatus.EXPIRED): due, (lasting.id, VoucherStatus.ISSUED): due}
        )
        and released == Counter({v: -face for v, face in faces.items()})
        and events == Counter({str(v): 1 for v in faces})
    )
    balanced, chain = _books(ctx)
    return Outcome(
        "expiry",
        injection.fired,
        retries,
        due,
        statuses[(short.id, VoucherStatus.EXPIRED)],
        twin_equal,
        balanced,
        chain,
        seconds,
        result,
    )


# --- Settlement ------------------------------------------------------------------------------


def settlement_with_faults(ctx: AppContext, clock: Clock, faults: Sequence[Fault]) -> Outcome:
    """Twin institutions with the same progress: the reference ones settled undisturbed one
    by one, then one settlement run for the period under faults builds the others'."""
    faulted, reference = settlement_world(ctx, clock)
    for code in reference:
        settlement.run_settlement(ctx, *MARCH, institution_code=code)
    result, (injection, retries), seconds = _run(ctx, faults, settlement.run_settlement, *MARCH)
    expected = [settled_state(ctx, code) for code in reference]
    found = [settled_state(ctx, code) for code in faulted]
    with ctx.unit_of_work() as uow:
        stages = Counter(
            uow.session.execute(sa.select(SettlementLine.voucher_id, SettlementLine.stage_index))
        )
    balanced, chain = _books(ctx)
    return Outcome(
        "settlement run",
        injection.fired,
        retries,
        sum(s.line_count for s in expected),
        sum(s.line_count for s in found),
        found == expected and set(stages.values()) == {1},
        balanced,
        chain,
        seconds,
        result,
    )
