"""Idempotent retries: the first answer to a (caller, key) pair is kept and given again.

A retry with the same key and the same request gets the stored answer without the work being
done twice; the same key with a different request is refused; a retry that arrives while the
first attempt is still running is told to wait. An attempt whose process died is taken over
after ``STALE_AFTER`` (the work it may have done is guarded by the use case's own conditional
updates and unique constraints, which make a second run find nothing left to do).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from skillvoucher.application.context import AppContext
from skillvoucher.domain.errors import DomainError, InvalidInput

STALE_AFTER = timedelta(minutes=10)
KEEP_FOR = timedelta(hours=24)
MAX_KEY_CHARS = 100


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"


class IdempotentRequestInFlight(DomainError):
    code = "idempotent_request_in_flight"


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    body: bytes
    content_type: str | None


@dataclass(frozen=True)
class Proceed:
    record_id: uuid.UUID


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY_CHARS or not key.isascii() or not key.isprintable():
        raise InvalidInput(f"an Idempotency-Key is 1 to {MAX_KEY_CHARS} printable ASCII characters")
    return key


def begin(ctx: AppContext, principal: str, key: str, request_digest: str) -> Proceed | StoredAnswer:
    """Proceed (this attempt does the work) or the stored answer of the first attempt."""
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        claimed = uow.idempotency.claim(principal, key, request_digest, now)
        if claimed is not None:
            uow.commit()
            return Proceed(claimed)
        record = uow.idempotency.find(principal, key)
        if record is None:  # released between our insert and our read: the caller may retry
            raise IdempotentRequestInFlight("the first attempt with this key has just failed")
        if record.request_digest != request_digest:
            raise IdempotencyKeyReused("this Idempotency-Key was used for a different request")
        if record.status_code is not None and record.response_body is not None:
            return StoredAnswer(record.status_code, record.response_body, record.content_type)
        if uow.idempotency.take_over(record.id, now - STALE_AFTER, now):
            uow.commit()
            return Proceed(record.id)
        raise IdempotentRequestInFlight("the first attempt with this key is still running")


def finish(ctx: AppContext, proceed: Proceed, answer: StoredAnswer) -> None:
    """Keep the answer, or forget the attempt when it failed on our side (5xx) so that a
    retry does the work."""
    with ctx.unit_of_work() as uow:
        if answer.status >= 500:
            uow.idempotency.release(proceed.record_id)
        else:
            uow.idempotency.complete(
                proceed.record_id, answer.status, answer.body, answer.content_type, ctx.clock()
            )
        uow.commit()


def purge_expired(ctx: AppContext) -> int:
    """Forget answers older than ``KEEP_FOR``; a key may be reused after that."""
    with ctx.unit_of_work() as uow:
        purged = uow.idempotency.purge_before(ctx.clock() - KEEP_FOR)
        uow.commit()
        return purged
