"""Crash safety: bulk issuance, settlement and expiry killed with SIGKILL at random points and
run again end in exactly the state of an uninterrupted run.

Each command runs as a real `skillvoucher` subprocess on the test's database (SQLite file or
PostgreSQL), sharing the test's keys; the test polls the database and kills the process once
it has written a randomly chosen amount, then re-runs it. The uninterrupted reference is a
twin in the same database: a second push scheme over the same people, twin institutions
settled first in-process. PostgreSQL restarts and dropped connections are out of scope here.

`pytest -s` prints the kill points and figures.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random
from typing import Any

import sqlalchemy as sa

from builders import (
    CITY,
    Clock,
    credit_code,
    deposit,
    enrol,
    import_course,
    import_institution,
    import_people,
    issue,
    make_scheme,
    person,
)
from skillvoucher.application import issuance, settlement, settlement_batches, training
from skillvoucher.application.audit_verify import verify_audit_chain
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.ledger import Account, JournalKind
from skillvoucher.domain.timekeeping import utc_now
from skillvoucher.domain.vouchers import EXPIRED_ACTION, PUSHED_ACTION, VoucherStatus
from skillvoucher.persistence.tables import (
    AuditEvent,
    Institution,
    LedgerEntry,
    Person,
    Scheme,
    SettlementBatch,
    SettlementLine,
    Voucher,
)

CLI = [sys.executable, "-c", "from skillvoucher.cli.main import main; main()"]
CHUNK = 50  # as the tests' own context: many chunks, many points to be killed between
RUN_TIMEOUT = 120
SEED = 20260306


# --- Running and killing the CLI -----------------------------------------------------------


def cli_env(ctx: AppContext) -> dict[str, str]:
    """The environment of a `skillvoucher` process on the test's database and keys."""
    settings = ctx.settings
    return {
        **os.environ,
        "SKILLVOUCHER_DATABASE_URL": settings.resolved_database_url,
        "SKILLVOUCHER_DATA_DIR": str(settings.data_dir),
        "SKILLVOUCHER_KEY_DIR": str(settings.resolved_key_dir),
        "SKILLVOUCHER_CHUNK_SIZE": str(CHUNK),
    }


def count(ctx: AppContext, stmt: sa.Select[Any]) -> int:
    with ctx.unit_of_work() as uow:
        return int(uow.session.scalar(stmt) or 0)


@dataclass(frozen=True)
class Kill:
    aimed_at: int
    """Kill once the progress count reached this."""
    seen: int
    """The progress count the test last saw before the kill."""
    after: int
    """The progress count once the process was dead (what it had committed)."""
    finished_first: bool
    """The process ended on its own before the kill could land."""

    def __str__(self) -> str:
        if self.finished_first:
            return f"aimed at {self.aimed_at}, finished first at {self.after}"
        return f"aimed at {self.aimed_at}, killed at {self.seen}, committed {self.after}"


def run_and_kill(
    ctx: AppContext, args: Sequence[str], progress: sa.Select[Any], aim: int, rng: Random
) -> Kill:
    """Start `skillvoucher ARGS`; SIGKILL it once ``progress`` counts ``aim`` or more, plus a
    random few milliseconds so the kill lands inside a chunk's transaction as often as not."""
    # A file, not a pipe: a pipe nobody reads while polling could fill and stall the process.
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [*CLI, *args], env=cli_env(ctx), stdout=subprocess.DEVNULL, stderr=errors
        )
        try:
            seen = _kill_when(ctx, process, progress, aim, rng)
            returncode = process.wait(timeout=RUN_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        errors.seek(0)
        failure = errors.read().decode(errors="replace")
    finished = returncode != -signal.SIGKILL
    if finished:
        assert returncode == 0, f"{args} failed before the kill: {failure}"
    return Kill(aim, seen, count(ctx, progress), finished)


def _kill_when(
    ctx: AppContext,
    process: subprocess.Popen[bytes],
    progress: sa.Select[Any],
    aim: int,
    rng: Random,
) -> int:
    """Poll ``progress`` until it reaches ``aim`` (then SIGKILL) or the process ends; returns
    the count last seen."""
    # A plain engine, not the context's: on SQLite every unit of work takes the write lock
    # (BEGIN IMMEDIATE) and would queue behind the process it watches.
    watcher = sa.create_engine(ctx.settings.resolved_database_url)
    deadline = time.monotonic() + RUN_TIMEOUT
    seen = 0
    try:
        while process.poll() is None:
            assert time.monotonic() < deadline, f"{process.args!r} ran for {RUN_TIMEOUT} s"
            with watcher.connect() as connection:
                seen = int(connection.scalar(progress) or 0)
            if seen >= aim:
                time.sleep(rng.uniform(0, 0.02))
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
    finally:
        watcher.dispose()
    return seen


def run_to_end(ctx: AppContext, args: Sequence[str]) -> str:
    done = subprocess.run(
        [*CLI, *args],
        env=cli_env(ctx),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{args} failed after the kill: {done.stderr}\n{done.stdout}"
    return done.stdout


def report(title: str, ctx: AppContext, started: float, **figures: object) -> None:
    backend = ctx.engine.dialect.name
    shown = ", ".join(f"{name}={value}" for name, value in figures.items())
    print(f"\n[crash safety/{backend}] {title}: {shown}; {time.monotonic() - started:.1f} s")


# --- Invariants shared by the scenarios ----------------------------------------------------


def assert_books_intact(ctx: AppContext) -> None:
    """Ledger balanced and accounted for voucher by voucher; audit chain unbroken; every
    ledger entry and voucher audit event about a voucher that exists."""
    assert ledger_problems(ctx) == []
    assert verify_audit_chain(ctx).intact
    with ctx.unit_of_work() as uow:
        known = sa.select(Voucher.id)
        orphan_entries = uow.session.scalar(
            sa.select(sa.func.count()).where(
                LedgerEntry.voucher_id.is_not(None), LedgerEntry.voucher_id.not_in(known)
            )
        )
        voucher_events = list(
            uow.session.scalars(
                sa.select(AuditEvent.entity_id).where(AuditEvent.entity_type == "voucher")
            )
        )
        ids = {str(v) for v in uow.session.scalars(known)}
    assert orphan_entries == 0
    assert set(voucher_events) <= ids


def posted_by_voucher(ctx: AppContext, kind: JournalKind, account: Account) -> Counter[uuid.UUID]:
    """Per voucher, the fen that journals of ``kind`` moved into ``account``."""
    with ctx.unit_of_work() as uow:
        rows = uow.session.execute(
            sa.select(LedgerEntry.voucher_id, LedgerEntry.amount_fen).where(
                LedgerEntry.kind == kind, LedgerEntry.account == account
            )
        )
        totals: Counter[uuid.UUID] = Counter()
        for voucher_id, amount in rows:
            assert voucher_id is not None
            totals[voucher_id] += amount
    return totals


def audit_count(ctx: AppContext, action: str) -> Counter[str]:
    """How often each entity has an audit event ``action``."""
    with ctx.unit_of_work() as uow:
        ids = uow.session.scalars(
            sa.select(AuditEvent.entity_id).where(AuditEvent.action == action)
        )
        return Counter(ids)


def audited_issues(ctx: AppContext, scheme_id: uuid.UUID) -> Counter[str]:
    """How often each voucher of the scheme is named as issued by an audit event: its own
    ``voucher.issued`` (a claim), or the push chunk's event that covers it (the scheme's
    vouchers issued at the event's instant within its ranges of ids and of holders, as many as
    it says)."""
    named = audit_count(ctx, "voucher.issued")
    with ctx.unit_of_work() as uow:
        chunks = list(
            uow.session.scalars(
                sa.select(AuditEvent).where(
                    AuditEvent.action == PUSHED_ACTION,
                    AuditEvent.entity_id == str(scheme_id),
                )
            )
        )
        for chunk in chunks:
            first = uuid.UUID(chunk.payload["first_voucher"])
            last = uuid.UUID(chunk.payload["last_voucher"])
            holders = (
                uuid.UUID(chunk.payload["first_holder"]),
                uuid.UUID(chunk.payload["last_holder"]),
            )
            found = uow.session.execute(
                sa.select(Voucher.id, Voucher.issued_at).where(
                    Voucher.scheme_id == scheme_id,
                    Voucher.id.between(first, last),
                    Voucher.person_id.between(*holders),
                )
            )
            covered = [str(v) for v, at in found if at == chunk.occurred_at]
            assert len(covered) == chunk.payload["vouchers"], "a push chunk's event miscounts"
            named.update(covered)
    return named


def audited_expiries(ctx: AppContext) -> Counter[str]:
    """How often each voucher is named as expired by an audit event: the expiry chunk's event
    that covers it (its scheme's vouchers closed as expired at the event's instant within the
    event's range of ids, as many as it says)."""
    named: Counter[str] = Counter()
    with ctx.unit_of_work() as uow:
        chunks = uow.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == EXPIRED_ACTION)
        )
        for chunk in list(chunks):
            first = uuid.UUID(chunk.payload["first_voucher"])
            last = uuid.UUID(chunk.payload["last_voucher"])
            found = uow.session.execute(
                sa.select(Voucher.id, Voucher.closed_at).where(
                    Voucher.scheme_id == uuid.UUID(chunk.entity_id),
                    Voucher.status == VoucherStatus.EXPIRED,
                    Voucher.id.between(first, last),
                )
            )
            covered = [str(v) for v, at in found if at == chunk.occurred_at]
            assert len(covered) == chunk.payload["vouchers"], "an expiry chunk's event miscounts"
            named.update(covered)
    return named


# --- 1. Push issuance ----------------------------------------------------------------------

PEOPLE = 3000
PUSH_FACE = 10_000


def push_scheme(ctx: AppContext, code: str, validity_days: int = 180) -> Scheme:
    view = make_scheme(
        ctx,
        code=code,
        issuance="push",
        quota=PEOPLE,
        budget_fen=PEOPLE * PUSH_FACE,
        face_value={"fixed_fen": PUSH_FACE},
        validity={"days": validity_days},
        # The twin schemes reach the same people: holding one voucher must not bar the other.
        eligibility={"one_active_voucher": False},
    )
    with ctx.unit_of_work() as uow:
        scheme = uow.schemes.by_code(view.code)
        assert scheme is not None
        return scheme


def vouchers_of(code: str) -> sa.Select[Any]:
    return (
        sa.select(sa.func.count(Voucher.id))
        .join(Scheme, Scheme.id == Voucher.scheme_id)
        .where(Scheme.code == code)
    )


@dataclass(frozen=True)
class Issued:
    holders: Counter[uuid.UUID]
    issued_count: int
    face_total: int
    committed: int
    audited: int


def issued_state(ctx: AppContext, code: str) -> Issued:
    with ctx.unit_of_work() as uow:
        scheme = uow.schemes.by_code(code)
        assert scheme is not None
        rows = list(
            uow.session.execute(
                sa.select(Voucher.id, Voucher.person_id, Voucher.face_value_fen).where(
                    Voucher.scheme_id == scheme.id
                )
            )
        )
        committed = uow.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount_fen), 0)).where(
                LedgerEntry.scheme_id == scheme.id,
                LedgerEntry.kind == JournalKind.COMMITMENT,
                LedgerEntry.account == Account.COMMITTED,
            )
        )
        issued_count = scheme.issued_count
    events = audited_issues(ctx, scheme.id)
    ids = {str(voucher_id) for voucher_id, _, _ in rows}
    assert all(events[i] == 1 for i in ids), "a voucher audited other than once"
    return Issued(
        holders=Counter(person_id for _, person_id, _ in rows),
        issued_count=issued_count,
        face_total=sum(face for _, _, face in rows),
        committed=int(committed or 0),
        audited=sum(events[i] for i in ids),
    )


def test_push_issuance_killed_twice_ends_as_an_uninterrupted_run(ctx: AppContext) -> None:
    started = time.monotonic()
    rng = Random(SEED)
    import_people(ctx, [person(name=f"求职者{i}") for i in range(PEOPLE)])
    deposit(ctx, 2 * PEOPLE * PUSH_FACE)
    reference = push_scheme(ctx, "TY-2026-REF")
    killed = push_scheme(ctx, "TY-2026-KILL")
    with ctx.unit_of_work() as uow:
        everyone = set(uow.session.scalars(sa.select(Person.id)))
    assert len(everyone) == PEOPLE
    setup = time.monotonic() - started

    pushed = issuance.push_issue(ctx, reference.code)
    assert pushed == issuance.PushResult(PEOPLE, 0, 0)

    first = run_and_kill(
        ctx, ["issue", killed.code], vouchers_of(killed.code), rng.randint(1, 1200), rng
    )
    second = run_and_kill(
        ctx,
        ["issue", killed.code],
        vouchers_of(killed.code),
        rng.randint(first.after + 1, PEOPLE - 300),
        rng,
    )
    assert not first.finished_first
    assert first.after < PEOPLE
    out = run_to_end(ctx, ["issue", killed.code])
    rerun = run_to_end(ctx, ["issue", killed.code])  # nothing left: issues nothing twice

    assert "issued 0 vouchers; 0 eligible people still without one; quota left 0" in rerun
    expected = issued_state(ctx, reference.code)
    actual = issued_state(ctx, killed.code)
    assert expected.holders == Counter(everyone)
    assert actual.holders == expected.holders  # one voucher each, nobody missing
    assert actual.issued_count == expected.issued_count == PEOPLE
    assert actual.face_total == expected.face_total == PEOPLE * PUSH_FACE
    assert actual.committed == actual.face_total
    assert actual.audited == PEOPLE
    with ctx.unit_of_work() as uow:
        schemes = {s.code: s for s in uow.schemes.all()}
    assert schemes[killed.code].available_fen == schemes[reference.code].available_fen == 0
    assert_books_intact(ctx)
    report(
        "push issuance",
        ctx,
        started,
        people=PEOPLE,
        setup_s=f"{setup:.1f}",
        first_kill=first,
        second_kill=second,
        final_run=out.strip().splitlines()[-1],
        vouchers=sum(actual.holders.values()),
    )


# --- 2. Expiry -----------------------------------------------------------------------------

EXPIRING = 1500
LASTING = 200


def test_expiry_killed_expires_every_due_voucher_exactly_once(
    ctx: AppContext, clock: Clock
) -> None:
    started = time.monotonic()
    rng = Random(SEED + 1)
    # Issued 200 days before the real clock the subprocess reads: the 180-day vouchers are due.
    clock.set(utc_now() - timedelta(days=200))
    import_people(ctx, [person(name=f"求职者{i}", today=clock.today) for i in range(EXPIRING)])
    deposit(ctx, 2 * PEOPLE * PUSH_FACE)
    due = push_scheme(ctx, "TY-2026-DUE", validity_days=180)
    lasting = push_scheme(ctx, "TY-2026-LAST", validity_days=3650)
    assert issuance.push_issue(ctx, due.code).issued == EXPIRING
    assert issuance.push_issue(ctx, lasting.code).issued == EXPIRING
    with ctx.unit_of_work() as uow:
        faces = dict(
            uow.session.execute(
                sa.select(Voucher.id, Voucher.face_value_fen).where(Voucher.scheme_id == due.id)
            ).all()
        )
    expired = sa.select(sa.func.count()).where(Voucher.status == VoucherStatus.EXPIRED)

    kill = run_and_kill(ctx, ["expire"], expired, rng.randint(1, EXPIRING - 200), rng)
    assert not kill.finished_first
    assert kill.after < EXPIRING
    out = run_to_end(ctx, ["expire"])
    again = run_to_end(ctx, ["expire"])

    assert "expired 0 vouchers" in again
    with ctx.unit_of_work() as uow:
        statuses = Counter(uow.session.execute(sa.select(Voucher.scheme_id, Voucher.status)).all())
        schemes = {s.code: s for s in uow.schemes.all()}
    assert statuses == Counter(
        {(due.id, VoucherStatus.EXPIRED): EXPIRING, (lasting.id, VoucherStatus.ISSUED): EXPIRING}
    )
    released = posted_by_voucher(ctx, JournalKind.RELEASE, Account.COMMITTED)
    # every due voucher's face value out of its committed bucket, exactly once
    assert released == Counter({v: -face for v, face in faces.items()})
    assert audited_expiries(ctx) == Counter({str(v): 1 for v in faces})
    assert schemes[due.code].available_fen == PEOPLE * PUSH_FACE  # the whole budget back
    assert schemes[lasting.code].available_fen == PEOPLE * PUSH_FACE - EXPIRING * PUSH_FACE
    assert_books_intact(ctx)
    report(
        "expiry",
        ctx,
        started,
        due=EXPIRING,
        not_due=EXPIRING,
        kill=kill,
        final_run=out.strip().splitlines()[-1],
    )


# --- 3. Settlement -------------------------------------------------------------------------

INSTITUTIONS = 8  # per twin; each institution's batch is one transaction
ENROLLED = 12  # vouchers per institution, enrolled (first stage earned)
FINISHED = 3  # of which attended, completed and certified (every stage earned, settled)
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
SETTLE_FACE = 20_000
COURSE_HOURS = 16


def settlement_world(ctx: AppContext, clock: Clock) -> tuple[list[str], list[str]]:
    """Twin institutions (killed, reference), each with the same enrolled vouchers and
    progress; returns the two lists of credit codes, twin by twin."""
    holders = [person(name=f"学员{i}") for i in range(2 * INSTITUTIONS * ENROLLED)]
    import_people(ctx, holders)
    deposit(ctx)
    scheme = make_scheme(
        ctx,
        code="TY-2026-SETTLE",
        quota=len(holders),
        budget_fen=len(holders) * SETTLE_FACE,
        face_value={"fixed_fen": SETTLE_FACE},
    )
    twins: tuple[list[str], list[str]] = ([], [])
    finishing: list[uuid.UUID] = []
    people = iter(holders)
    for i in range(INSTITUTIONS):
        for side, names in zip(twins, ("甲", "乙"), strict=True):
            code = import_institution(
                ctx, code=credit_code(CITY), name=f"太原市第{i}{names}职业培训学校"
            )
            import_course(ctx, code, capacity=ENROLLED, hours=COURSE_HOURS)
            side.append(code)
            for n in range(ENROLLED):
                voucher = issue(ctx, scheme.code, next(people)).voucher_id
                enrol(ctx, voucher, code)
                if n < FINISHED:
                    finishing.append(voucher)
    for _ in range(COURSE_HOURS * 60 // 480):
        clock.advance(timedelta(days=1))
        for voucher in finishing:
            assert training.record_attendance(
                ctx, voucher, AttendanceSource.FACE, clock.now, 480, "door-1"
            ).recorded
    for voucher in finishing:
        training.record_completion(ctx, voucher, f"CERT-{voucher.hex[:8]}", SkillLevel.LEVEL_5)
    return twins


@dataclass(frozen=True)
class Settled:
    total_fen: int
    line_count: int
    lines_fen: int
    payable_fen: int
    stages: Counter[int]
    vouchers_settled: int


def settled_state(ctx: AppContext, code: str) -> Settled:
    with ctx.unit_of_work() as uow:
        institution = uow.session.scalar(
            sa.select(Institution).where(Institution.credit_code == code)
        )
        assert institution is not None
        batches = list(
            uow.session.scalars(
                sa.select(SettlementBatch).where(SettlementBatch.institution_id == institution.id)
            )
        )
        assert len(batches) == 1, f"{code} has {len(batches)} batches for the period"
        (batch,) = batches
        lines = list(
            uow.session.scalars(
                sa.select(SettlementLine).where(SettlementLine.batch_id == batch.id)
            )
        )
        payable = uow.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount_fen), 0)).where(
                LedgerEntry.settlement_batch_id == batch.id,
                LedgerEntry.kind == JournalKind.PAYABLE,
                LedgerEntry.account == Account.PAYABLE,
            )
        )
        settled = uow.session.scalar(
            sa.select(sa.func.count()).where(
                Voucher.institution_id == institution.id, Voucher.status == VoucherStatus.SETTLED
            )
        )
    return Settled(
        total_fen=batch.total_fen,
        line_count=batch.line_count,
        lines_fen=sum(line.amount_fen for line in lines),
        payable_fen=int(payable or 0),
        stages=Counter(line.stage_index for line in lines),
        vouchers_settled=int(settled or 0),
    )


def test_settlement_run_killed_ends_as_an_uninterrupted_run(ctx: AppContext, clock: Clock) -> None:
    started = time.monotonic()
    rng = Random(SEED + 2)
    killed, reference = settlement_world(ctx, clock)
    setup = time.monotonic() - started
    for code in reference:  # the uninterrupted twin, one institution at a time
        run = settlement.run_settlement(ctx, *MARCH, institution_code=code)
        assert len(run.created) == 1
    period = ["settle", "--from", MARCH[0].isoformat(), "--to", MARCH[1].isoformat()]
    batches = sa.select(sa.func.count(SettlementBatch.id))
    kills: list[Kill] = []
    while len(kills) < 2 and count(ctx, batches) < 2 * INSTITUTIONS:
        aim = count(ctx, batches) + rng.randint(1, INSTITUTIONS // 2)
        kills.append(run_and_kill(ctx, period, batches, aim, rng))
    assert not kills[0].finished_first
    assert kills[0].after < 2 * INSTITUTIONS
    out = run_to_end(ctx, period)
    again = run_to_end(ctx, period)

    assert f"0 batch(es) built, {2 * INSTITUTIONS} existed already" in again
    for mine, twin in zip(killed, reference, strict=True):
        state = settled_state(ctx, mine)
        assert state == settled_state(ctx, twin)
        assert state.total_fen == state.lines_fen == state.payable_fen  # batch equals its lines
        assert state.stages == Counter({0: ENROLLED, 1: FINISHED})
        assert state.vouchers_settled == FINISHED
    with ctx.unit_of_work() as uow:
        stages = Counter(
            uow.session.execute(sa.select(SettlementLine.voucher_id, SettlementLine.stage_index))
        )
        settled_ids = set(
            uow.session.scalars(
                sa.select(Voucher.id).where(Voucher.status == VoucherStatus.SETTLED)
            )
        )
    assert set(stages.values()) == {1}  # each voucher's stage settled once
    assert len(stages) == 2 * INSTITUTIONS * (ENROLLED + FINISHED)
    assert audit_count(ctx, "voucher.settled") == Counter({str(v): 1 for v in settled_ids})
    assert sum(audit_count(ctx, "settlement.batch_built").values()) == 2 * INSTITUTIONS
    assert all(row.agrees for row in settlement_batches.reconcile(ctx))
    assert_books_intact(ctx)
    report(
        "settlement",
        ctx,
        started,
        institutions=2 * INSTITUTIONS,
        vouchers=2 * INSTITUTIONS * ENROLLED,
        setup_s=f"{setup:.1f}",
        kills="; ".join(str(k) for k in kills),
        final_run=out.strip().splitlines()[-1],
    )
