"""Record many completions (and skill certificates) at once: an institution's class finishing
its course, a transaction per chunk, set-wise. The chunk's vouchers are read and locked in one
statement (primary-key order), each request judged in order by the same checks as
``record_completion`` (``check_certificate_shape``, ``completion_step``), each seeing the ones
accepted before it (a voucher completed, then certified), and the accepted ones written in a
few UPDATEs with their audit events: the vouchers, audit events and notices are those of the
completions recorded one by one, and every refused request gets the error that call raises.

Re-running a chunk is harmless (``retries.py``): a voucher completed before is refused as
already completed (or, given a certificate it lacks, certified)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from skillvoucher.application.context import AppContext
from skillvoucher.application.retries import retry_chunk
from skillvoucher.application.training import (
    CompletionStep,
    check_certificate_shape,
    completion_step,
)
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.errors import DomainError
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.repositories.training_sets import ChunkRaced, TrainingSets


@dataclass(frozen=True)
class CompletionRequest:
    voucher_id: uuid.UUID
    certificate_no: str | None = None
    certificate_level: SkillLevel | None = None
    institution_id: uuid.UUID | None = None  # only while at that institution, as the single path


# The chunk's vouchers stay locked until it commits; 200 keep a live completion's wait short.
COMPLETIONS_PER_TRANSACTION = 200

CompletionOutcome = VoucherStatus | DomainError
"""What became of one request: the voucher's new status, or the domain error that refused it."""


def record_completions_chunked(
    ctx: AppContext, requests: Sequence[CompletionRequest]
) -> list[CompletionOutcome]:
    """Record ``requests`` in chunks (``COMPLETIONS_PER_TRANSACTION``, or
    ``settings.chunk_size`` when smaller), one transaction each; the outcome of every request,
    in order. A refused request leaves the others of its chunk recorded."""
    size = min(ctx.settings.chunk_size, COMPLETIONS_PER_TRANSACTION)
    outcomes: list[CompletionOutcome] = []
    for start in range(0, len(requests), size):
        chunk = requests[start : start + size]
        outcomes += retry_chunk(ctx, "completion", partial(_complete_chunk, ctx, chunk))
    return outcomes


def _complete_chunk(
    ctx: AppContext, requests: Sequence[CompletionRequest]
) -> list[CompletionOutcome]:
    now = ctx.clock()
    outcomes: list[CompletionOutcome] = []
    # One UPDATE per move (from, to), in the order a voucher can take them in one chunk:
    # completed (with a certificate or not), then certified.
    moves: dict[tuple[VoucherStatus, VoucherStatus], list[tuple[uuid.UUID, CompletionStep]]]
    moves = {}
    audit: list[dict[str, Any]] = []
    with ctx.unit_of_work() as uow:
        sets = TrainingSets(uow.session)
        vouchers = sets.vouchers((r.voucher_id for r in requests), lock=True)
        for loaded in vouchers.values():
            uow.session.expunge(loaded)  # judged in memory; the UPDATEs below write the moves
        for request in requests:
            voucher = vouchers.get(request.voucher_id)
            try:
                check_certificate_shape(request.certificate_no, request.certificate_level)
                step = completion_step(
                    request.voucher_id,
                    voucher,
                    request.institution_id,
                    request.certificate_no,
                    request.certificate_level,
                    now,
                )
            except DomainError as error:
                outcomes.append(error)
                continue
            assert voucher is not None  # completion_step refused an unknown one
            # Under the lock, the move's conditional (from step.from_status) holds: as the
            # single path's UPDATE, it is made, and the next request sees the voucher moved.
            kind = (step.from_status, step.target)
            moves.setdefault(kind, []).append((voucher.id, step))
            voucher.status = step.target
            for name, value in step.values.items():
                setattr(voucher, name, value)
            audit.append(
                {
                    "occurred_at": now,
                    "actor": ctx.actor,
                    "action": step.action,
                    "entity_type": "voucher",
                    "entity_id": str(request.voucher_id),
                    "region_code": voucher.region_code,
                    "payload": {
                        "certificate_no": request.certificate_no,
                        "level": request.certificate_level,
                    },
                }
            )
            outcomes.append(VoucherStatus.COMPLETED)
        for kind in sorted(moves, key=lambda k: k[0] is VoucherStatus.COMPLETED):
            _move(sets, kind, moves[kind])
        uow.audit.record_many(audit)
        uow.commit()
    return outcomes


def _move(
    sets: TrainingSets,
    kind: tuple[VoucherStatus, VoucherStatus],
    moved: list[tuple[uuid.UUID, CompletionStep]],
) -> None:
    """One UPDATE for the move: a value all its vouchers take alike is set as such, the others
    (a certificate's number and level, and its time where some have none) voucher by voucher;
    the tallies' trigger on vouchers then runs once for the lot."""
    source, target = kind
    ids = [voucher_id for voucher_id, _ in moved]
    names = {name for _, step in moved for name in step.values}
    values: dict[str, Any] = {}
    for name in sorted(names):
        each = {voucher_id: step.values[name] for voucher_id, step in moved if name in step.values}
        alike = len(each) == len(moved) and len({repr(v) for v in each.values()}) == 1
        values[name] = next(iter(each.values())) if alike else each
    if len(sets.move_vouchers(ids, source, target, values)) != len(ids):
        raise ChunkRaced("a voucher of the chunk changed under its lock")
