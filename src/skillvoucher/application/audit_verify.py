"""`skillvoucher audit verify`: walk every province's audit chain and name the first bad event.

Streams each chain in chunks (a national trail has hundreds of millions of events), one short
read-only transaction per chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from skillvoucher.application.context import AppContext
from skillvoucher.domain.audit_chain import ChainBreak, ChainWalk
from skillvoucher.persistence.repositories.audit import facts_of

CHUNK = 5000


@dataclass
class AuditVerification:
    chains: int = 0
    events: int = 0
    unchained: int = 0
    """Events written before the chain existed (migration 0004): counted, not verifiable."""
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.breaks


def verify_audit_chain(
    ctx: AppContext, progress: Callable[[int], None] | None = None
) -> AuditVerification:
    """Every chain walked from its first event to its recorded head; the first break of each."""
    key = ctx.audit_chain_key()
    result = AuditVerification()
    with ctx.unit_of_work() as uow:
        heads = uow.audit.chain_heads()
        provinces = sorted(set(heads) | set(uow.audit.chained_provinces()))
        result.unchained = uow.audit.unchained_count()
    for province in provinces:
        walk = ChainWalk(key, province)
        after = 0
        while True:
            with ctx.unit_of_work() as uow:
                events = uow.audit.chain_slice(province, after, CHUNK)
            for event in events:
                walk.step(str(event.id), facts_of(event), event.prev_hash or "", event.hash or "")
            result.events += len(events)
            if progress is not None:
                progress(result.events)
            if len(events) < CHUNK or walk.first_break is not None:
                break
            after = events[-1].seq or after
        head = heads.get(province)
        walk.finish(*(head if head is not None else (None, None)))
        result.chains += 1
        if walk.first_break is not None:
            result.breaks.append(walk.first_break)
    return result
