"""Send the holders' notices waiting in the outbox, at least once each, through every channel.

A pass claims due notices (a short transaction that leases them: a second deliverer skips
them), sends each through the channels that have not yet taken it, and records the outcome in
a transaction per notice: delivered when every channel took it, otherwise due again after a
backoff, and given up on after ``MAX_DELIVERY_ATTEMPTS``. A deliverer that dies mid-pass
leaves its leased notices due again when the lease ends, so a notice may be sent twice but
never lost; HTTP channels pass the notice id as idempotency key for that case."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from skillvoucher.application.context import AppContext
from skillvoucher.application.notice_channels import ChannelFailed, NoticeChannel, OutgoingNotice
from skillvoucher.domain.notices import MAX_DELIVERY_ATTEMPTS, retry_delay_seconds

LEASE = timedelta(minutes=5)  # far longer than a pass's sends take with the channel timeouts
MAX_RESULT_CHARS = 200


@dataclass(frozen=True)
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    given_up: int = 0


@dataclass(frozen=True)
class _Claimed:
    notice: OutgoingNotice
    attempts: int
    results: dict[str, str]


def deliver_pending(
    ctx: AppContext,
    channels: Sequence[NoticeChannel],
    limit: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> DeliveryReport:
    """One pass over at most ``limit`` due notices; returns what became of them."""
    claimed = _claim(ctx, channels, limit)
    delivered = retrying = given_up = 0
    for done, item in enumerate(claimed, start=1):
        results = dict(item.results)
        for channel in channels:
            if results.get(channel.name) in ("sent", "no_mobile"):
                continue  # taken on an earlier attempt: not sent twice
            try:
                results[channel.name] = channel.send(item.notice)
            except ChannelFailed as failure:
                results[channel.name] = f"failed: {failure}"[:MAX_RESULT_CHARS]
        now = ctx.clock()
        done_everywhere = all(not str(r).startswith("failed") for r in results.values())
        if done_everywhere:
            delivered_at, next_at = now, None
            delivered += 1
        elif item.attempts >= MAX_DELIVERY_ATTEMPTS:
            delivered_at, next_at = None, None
            given_up += 1
        else:
            delivered_at = None
            next_at = now + timedelta(seconds=retry_delay_seconds(item.attempts))
            retrying += 1
        with ctx.unit_of_work() as uow:
            uow.notices.record_outcome(item.notice.notice_id, results, delivered_at, next_at)
            uow.commit()
        if progress is not None:
            progress(done, len(claimed))
    return DeliveryReport(len(claimed), delivered, retrying, given_up)


def _claim(ctx: AppContext, channels: Sequence[NoticeChannel], limit: int) -> list[_Claimed]:
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        rows = uow.notices.claim_due(now, limit, LEASE)
        needs_mobile = any(c.needs_mobile for c in channels)
        mobiles = uow.notices.mobiles(r.person_id for r in rows) if needs_mobile and rows else {}
        uow.commit()
        return [
            _Claimed(
                OutgoingNotice(
                    r.id,
                    r.person_id,
                    r.voucher_id,
                    r.kind,
                    dict(r.payload),
                    mobiles.get(r.person_id),
                ),
                r.attempts,
                {str(k): str(v) for k, v in (r.channel_results or {}).items()},
            )
            for r in rows
        ]


def notice_counts(ctx: AppContext) -> dict[str, int]:
    """How many notices are pending, delivered and given up on."""
    with ctx.unit_of_work() as uow:
        return uow.notices.counts()
