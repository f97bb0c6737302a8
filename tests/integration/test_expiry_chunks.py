"""Year-end expiry in chunks: a chunk that spans two schemes, and the last, partial chunk.

Each chunk is one UPDATE, one release journal and one audit event per scheme it touches; these
tests check that every due voucher is released and named exactly once across the boundaries,
and that a second run finds nothing left to do.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

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
from skillvoucher.domain.vouchers import EXPIRED_ACTION
from skillvoucher.persistence.tables import AuditEvent, Voucher

CHUNK = 10
HOLDERS = 23  # 46 due vouchers: chunks of 10, 10, 10, 10 and 6, one of them across two schemes


def test_expiry_chunks_release_and_name_every_due_voucher_once(
    ctx: AppContext, clock: Clock
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"chunk_size": CHUNK})
    import_people(ctx, [person(name=f"求职者{i}", today=clock.today) for i in range(HOLDERS)])
    deposit(ctx, 3 * PEOPLE * PUSH_FACE)
    due = [push_scheme(ctx, "TY-2026-DUE-A", 30), push_scheme(ctx, "TY-2026-DUE-B", 30)]
    lasting = push_scheme(ctx, "TY-2026-LAST", 3650)
    for scheme in [*due, lasting]:
        assert issuance.push_issue(ctx, scheme.code).issued == HOLDERS
    with ctx.unit_of_work() as uow:
        faces = dict(
            uow.session.execute(
                sa.select(Voucher.id, Voucher.face_value_fen).where(
                    Voucher.scheme_id.in_([s.id for s in due])
                )
            ).all()
        )
    clock.advance(timedelta(days=31))

    seen: list[int] = []
    assert lifecycle.expire_vouchers(ctx, progress=seen.append) == 2 * HOLDERS
    assert seen == [10, 20, 30, 40, 46]
    assert lifecycle.expire_vouchers(ctx) == 0  # re-run: nothing left, nothing written twice

    released = posted_by_voucher(ctx, JournalKind.RELEASE, Account.COMMITTED)
    assert released == Counter({v: -face for v, face in faces.items()})
    assert audited_expiries(ctx) == Counter({str(v): 1 for v in faces})
    with ctx.unit_of_work() as uow:
        events = list(
            uow.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == EXPIRED_ACTION))
        )
        available = {s.code: s.available_fen for s in uow.schemes.all()}
    # At least one event per chunk; a chunk across two schemes has one for each.
    assert len(events) >= 5
    assert sum(e.payload["released_fen"] for e in events) == 2 * HOLDERS * PUSH_FACE
    for scheme in due:
        assert available[scheme.code] == PEOPLE * PUSH_FACE  # the whole budget back
    assert available[lasting.code] == (PEOPLE - HOLDERS) * PUSH_FACE
    assert ledger_problems(ctx) == []
    assert verify_audit_chain(ctx).intact
