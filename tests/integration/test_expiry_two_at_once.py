"""Year-end expiry writes two chunks at once on PostgreSQL (one at a time on SQLite): their
spans of voucher ids never overlap, and between them they expire, release and name every due
voucher exactly once."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from test_crash_safety import (
    PEOPLE,
    PUSH_FACE,
    audited_expiries,
    posted_by_voucher,
    push_scheme,
)

from builders import Clock, deposit, import_people, person
from skillvoucher.application import issuance, lifecycle
from skillvoucher.application.audit_verify import verify_audit_chain
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.domain.ledger import Account, JournalKind
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.repositories.due_vouchers import Closed, DueVouchers
from skillvoucher.persistence.tables import Voucher

CHUNK = 7
HOLDERS = 30  # 30 due vouchers: spans of 7, 7, 7, 7 and 2


def test_chunks_written_at_once_expire_every_due_voucher_once(
    ctx: AppContext, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"chunk_size": CHUNK})
    import_people(ctx, [person(name=f"求职者{i}", today=clock.today) for i in range(HOLDERS)])
    deposit(ctx, 2 * PEOPLE * PUSH_FACE)
    due = push_scheme(ctx, "TY-2026-PAIR-DUE", 30)
    lasting = push_scheme(ctx, "TY-2026-PAIR-LAST", 3650)
    for scheme in (due, lasting):
        assert issuance.push_issue(ctx, scheme.code).issued == HOLDERS
    with ctx.unit_of_work() as uow:
        faces = dict(
            uow.session.execute(
                sa.select(Voucher.id, Voucher.face_value_fen).where(Voucher.scheme_id == due.id)
            ).all()
        )
    clock.advance(timedelta(days=31))

    two_at_once = ctx.engine.dialect.name == "postgresql"
    # The first two chunks meet here, each holding its transaction open, before either
    # writes: on PostgreSQL they must both get here (or the wait times out and the test
    # fails); on SQLite no chunk waits.
    meeting = threading.Barrier(2, timeout=10)
    spans: list[tuple[str, uuid.UUID | str | None, uuid.UUID | str, int]] = []
    close_span = DueVouchers.close_span

    def closing(self: DueVouchers, *args: Any) -> list[Closed]:
        now: datetime
        now, source, target, after, last = args
        if two_at_once and len(spans) < 2:
            spans.append((threading.current_thread().name, after, last, -1))
            meeting.wait()
        moved = close_span(self, now, source, target, after, last)
        spans.append((threading.current_thread().name, after, last, len(moved)))
        return moved

    monkeypatch.setattr(DueVouchers, "close_span", closing)
    seen: list[int] = []
    assert lifecycle.expire_vouchers(ctx, progress=seen.append) == HOLDERS
    assert seen == [7, 14, 21, 28, 30]  # in the spans' order, whichever chunk ends first

    written = [s for s in spans if s[3] >= 0]
    threads = {name for name, *_ in written}
    if two_at_once:
        assert len(threads) == 2
        assert threading.current_thread().name not in threads
    else:
        assert threads == {threading.current_thread().name}
    # Spans follow on from each other: each starts where the one before it ended.
    ordered = sorted(written, key=lambda s: str(s[2]))
    assert [str(s[1]) for s in ordered[1:]] == [str(s[2]) for s in ordered[:-1]]
    assert ordered[0][1] is None
    assert sorted(s[3] for s in written) == [2, 7, 7, 7, 7]

    assert lifecycle.expire_vouchers(ctx) == 0  # re-run: nothing left, nothing written twice
    with ctx.unit_of_work() as uow:
        statuses = Counter(uow.session.execute(sa.select(Voucher.scheme_id, Voucher.status)))
    assert statuses == Counter(
        {(due.id, VoucherStatus.EXPIRED): HOLDERS, (lasting.id, VoucherStatus.ISSUED): HOLDERS}
    )
    released = posted_by_voucher(ctx, JournalKind.RELEASE, Account.COMMITTED)
    assert released == Counter({v: -face for v, face in faces.items()})
    assert audited_expiries(ctx) == Counter({str(v): 1 for v in faces})
    assert ledger_problems(ctx) == []
    assert verify_audit_chain(ctx).intact


def test_a_retried_chunk_stays_within_its_span(
    ctx: AppContext, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chunk that fails after drawing its span is run again on the same span, while the
    next span has already been cut after it: the retry expires its own vouchers only."""
    ctx.settings = ctx.settings.model_copy(update={"chunk_size": CHUNK, "retry_base_seconds": 0.0})
    import_people(ctx, [person(name=f"求职者{i}", today=clock.today) for i in range(HOLDERS)])
    deposit(ctx, PEOPLE * PUSH_FACE)
    due = push_scheme(ctx, "TY-2026-RETRY-DUE", 30)
    assert issuance.push_issue(ctx, due.code).issued == HOLDERS
    clock.advance(timedelta(days=31))

    failed: list[uuid.UUID | str] = []
    close_span = DueVouchers.close_span

    def failing_once(self: DueVouchers, *args: Any) -> list[Closed]:
        now, source, target, after, last = args
        moved = close_span(self, now, source, target, after, last)
        if after is None and not failed:
            failed.append(last)
            # A connection lost after the UPDATE: retries.py runs the chunk again.
            raise sa.exc.OperationalError(
                "UPDATE", {}, ConnectionResetError("cut"), connection_invalidated=True
            )
        assert after is not None or len(moved) == CHUNK  # the retry: its own span, in full
        return moved

    monkeypatch.setattr(DueVouchers, "close_span", failing_once)
    assert lifecycle.expire_vouchers(ctx) == HOLDERS
    assert failed  # the fault fired
    assert audited_expiries(ctx) == Counter(
        {str(v): 1 for v in posted_by_voucher(ctx, JournalKind.RELEASE, Account.COMMITTED)}
    )
    assert len(audited_expiries(ctx)) == HOLDERS
    assert ledger_problems(ctx) == []
