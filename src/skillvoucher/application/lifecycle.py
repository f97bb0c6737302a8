"""Side exits: vouchers expire or are revoked, and their unspent value returns to the scheme."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from functools import partial

from skillvoucher.application.chunk_spans import Span, run_spans, spans_until_empty
from skillvoucher.application.context import AppContext
from skillvoucher.application.retries import retry_chunk
from skillvoucher.domain.errors import IllegalTransition, NotFound
from skillvoucher.domain.ledger import Account, JournalKind, Movement, Reversal
from skillvoucher.domain.vouchers import (
    EXPIRED_ACTION,
    VoucherEvent,
    VoucherStatus,
    next_status,
    sources_of,
)
from skillvoucher.persistence.repositories.due_vouchers import Closed, DueVouchers
from skillvoucher.persistence.tables import Voucher
from skillvoucher.persistence.unit_of_work import UnitOfWork

# Chunks of an expiry written at once on PostgreSQL, as a push's (``issuance._PUSH_WORKERS``):
# each on a connection and a server process of its own, so two use both cores of a small
# server. The server does most of a chunk's work (its UPDATE with seven index entries and the
# tally trigger per voucher, the release journal's COPY with its foreign-key checks). SQLite
# has one writer at a time.
_EXPIRY_WORKERS = 2


def expire_vouchers(ctx: AppContext, progress: Callable[[int], None] | None = None) -> int:
    """Expire every issued voucher past its validity, in chunks; safe to re-run at any time.

    Each chunk expires a span of due vouchers (by id) and releases their value in one
    transaction. On PostgreSQL two chunks are written at once, each on a connection of its
    own; their spans never overlap, so they never meet on a voucher.
    """
    (source,) = sources_of(VoucherEvent.EXPIRE)
    target = next_status(source, VoucherEvent.EXPIRE)
    workers = _EXPIRY_WORKERS if ctx.engine.dialect.name == "postgresql" else 1
    expired = 0

    def done(count: int) -> None:
        nonlocal expired
        if count:
            expired += count
            if progress is not None:
                progress(expired)

    # Safe to run again (retries.py): a chunk draws its span afresh only until it has drawn
    # one, and a retry stays within it; the UPDATE moves only vouchers still in ``source``, so
    # a rolled-back chunk is redone and one whose commit landed unseen moves nothing. Each span
    # starts after the last id of the one before, so no chunk walks past the vouchers already
    # expired again (which made a year-end run quadratic in the vouchers due).
    run_spans(
        spans_until_empty(ctx.settings.chunk_size),
        lambda span: retry_chunk(ctx, "expiry", partial(_expire_chunk, ctx, source, target, span)),
        done,
        workers=workers,
        name="expiry",
    )
    return expired


def _expire_chunk(ctx: AppContext, source: VoucherStatus, target: VoucherStatus, span: Span) -> int:
    """Expire the due vouchers of ``span`` (drawing it first if not yet drawn) and release
    their value, in one transaction: for each scheme in it one release journal and one audit
    event. Returns how many it expired."""
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        due = DueVouchers(uow.session)
        if not span.is_drawn:
            span.draw(*due.draw_span(now, source, span.after, span.limit))
        if span.last is None:
            return 0
        moved = due.close_span(now, source, target, span.after, span.last)
        by_scheme: dict[uuid.UUID, list[Closed]] = defaultdict(list)
        for closed in moved:
            by_scheme[closed.scheme_id].append(closed)
        # Scheme rows in primary-key order: concurrent chunks lock them in the same order.
        for scheme_id in sorted(by_scheme):
            _release_expired(ctx, uow, scheme_id, by_scheme[scheme_id], now)
        uow.commit()
    return len(moved)


def _release_expired(
    ctx: AppContext,
    uow: UnitOfWork,
    scheme_id: uuid.UUID,
    expired: list[Closed],
    now: datetime,
) -> None:
    """Give one scheme's vouchers just expired their committed value back, and record it.

    An issued voucher still holds its whole face value committed (an enrolment that earned
    anything can no longer go back to issued), so the face value is what each releases.
    """
    region = expired[0].region_code  # a scheme's vouchers all carry the scheme's region
    shares = [(c.voucher_id, c.face_value_fen) for c in expired]
    uow.ledger.release_batch(region, scheme_id, shares, now)
    # One event per scheme and chunk, not per voucher: the chunk's vouchers of this scheme are
    # exactly its vouchers closed as expired at this instant with ids from first_voucher to
    # last_voucher, ``vouchers`` of them (chunks take disjoint spans of ids, so two chunks of
    # one run never share a range, even when written at once at the same instant). Ids as
    # text in canonical form sort as the UUIDs do.
    ids = [str(c.voucher_id) for c in expired]
    uow.audit.record(
        at=now,
        actor=ctx.actor,
        action=EXPIRED_ACTION,
        entity_type="scheme",
        entity_id=scheme_id,
        region_code=region,
        payload={
            "vouchers": len(expired),
            "released_fen": sum(fen for _, fen in shares),
            "first_voucher": min(ids),
            "last_voucher": max(ids),
        },
    )


def _close(uow: UnitOfWork, voucher_id: uuid.UUID, event: VoucherEvent, now: datetime) -> Voucher:
    """Move a voucher out of use by ``event`` and give back its seat on the course."""
    voucher = uow.vouchers.get(voucher_id)
    if voucher is None:
        raise NotFound(f"voucher {voucher_id} is not known")
    target = next_status(voucher.status, event)
    if not uow.vouchers.transition(voucher_id, sources_of(event), target, closed_at=now):
        raise IllegalTransition(f"voucher {voucher_id} changed meanwhile; try again")
    enrolment = uow.vouchers.active_enrolment(voucher_id)
    if enrolment is not None:
        uow.vouchers.cancel_enrolment(enrolment.id, now)
        uow.catalogue.free_seat(enrolment.course_id)
    return voucher


def revoke_voucher(ctx: AppContext, voucher_id: uuid.UUID, reason: str) -> int:
    """Revoke a voucher that has not completed; returns the fen released back to the scheme.

    What the institution already earned stays payable; only the still-committed value returns.
    """
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        voucher = _close(uow, voucher_id, VoucherEvent.REVOKE, now)
        still_committed = uow.ledger.committed_by_voucher([voucher_id]).get(voucher_id, 0)
        if still_committed > 0:
            uow.ledger.post(
                Movement(
                    JournalKind.RELEASE,
                    still_committed,
                    voucher.region_code,
                    scheme_id=voucher.scheme_id,
                    voucher_id=voucher_id,
                ),
                now,
            )
        uow.audit.record(
            at=now,
            actor=ctx.actor,
            action="voucher.revoked",
            entity_type="voucher",
            entity_id=voucher_id,
            region_code=voucher.region_code,
            payload={"reason": reason, "released_fen": still_committed},
        )
        uow.commit()
    return still_committed


def claw_back_voucher(ctx: AppContext, voucher_id: uuid.UUID, reason: str) -> int:
    """Take back everything a voucher earned (fraud or error found later) and revoke it.

    Reversal journals undo what was paid and what is payable, and the value then returns to
    the scheme; nothing already posted is edited. Returns the fen recovered for the scheme.
    """
    with ctx.unit_of_work() as uow:
        recovered = claw_back_within(ctx, uow, voucher_id, reason)
        uow.commit()
    return recovered


def claw_back_within(ctx: AppContext, uow: UnitOfWork, voucher_id: uuid.UUID, reason: str) -> int:
    """``claw_back_voucher`` inside the caller's unit of work (an upheld dispute's)."""
    now = ctx.clock()
    voucher = _close(uow, voucher_id, VoucherEvent.CLAW_BACK, now)
    # Lines not yet paid must never be paid now: their batch pays without them.
    withheld = uow.settlement.withhold_unpaid_lines(voucher_id, now)
    held = uow.ledger.voucher_balances(voucher_id)
    paid, payable = held[Account.PAID], held[Account.PAYABLE]
    where = (voucher.region_code, voucher.scheme_id, voucher_id, voucher.institution_id)
    journals: list[Movement | Reversal] = []
    if paid > 0:
        journals.append(Reversal(JournalKind.PAID, paid, *where))
    if paid + payable > 0:
        journals.append(Reversal(JournalKind.PAYABLE, paid + payable, *where))
    recovered = paid + payable + held[Account.COMMITTED]
    if recovered > 0:
        journals.append(Movement(JournalKind.RELEASE, recovered, *where))
    uow.ledger.post_many(journals, now)
    uow.audit.record(
        at=now,
        actor=ctx.actor,
        action="voucher.clawed_back",
        entity_type="voucher",
        entity_id=voucher_id,
        region_code=voucher.region_code,
        payload={
            "reason": reason,
            "paid_fen": paid,
            "payable_fen": payable,
            "lines_withheld": withheld,
        },
    )
    return recovered
