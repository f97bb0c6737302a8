"""The audit trail as a hash chain: each event's link is an HMAC over its content and the link of
the event before it, so an edited, deleted or reordered event breaks every link after it.

One chain per province (the unit a distributed deployment shards by, and what keeps writers in
different provinces from queueing behind one lock). The HMAC key lives outside the database:
someone who can rewrite the table still cannot compute the links of what they wrote.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
"""The link "before" a chain's first event."""


@dataclass(frozen=True)
class ChainedFacts:
    """What an event's link covers: everything it says, and where it stands in its chain."""

    province_code: str
    seq: int
    occurred_at: datetime
    region_code: str
    actor: str
    action: str
    entity_type: str
    entity_id: str
    payload: dict[str, Any]


def canonical(facts: ChainedFacts) -> bytes:
    """One byte string per event, the same on every database and Python version."""
    return json.dumps(
        [
            facts.province_code,
            facts.seq,
            facts.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            facts.region_code,
            facts.actor,
            facts.action,
            facts.entity_type,
            facts.entity_id,
            facts.payload,
        ],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    ).encode()


def link(key: bytes, previous: str, facts: ChainedFacts) -> str:
    return hmac.new(key, previous.encode() + b"\n" + canonical(facts), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    province_code: str
    seq: int | None
    event_id: str | None
    reason: str


@dataclass
class ChainWalk:
    """Walks one province's events in ``seq`` order and records the first break, if any."""

    key: bytes
    province_code: str
    expected_seq: int = 1
    previous: str = GENESIS
    first_break: ChainBreak | None = None
    events: int = 0

    def step(self, event_id: str, facts: ChainedFacts, prev_hash: str, hash_: str) -> None:
        if self.first_break is not None:
            return
        self.events += 1
        if facts.seq != self.expected_seq:
            missing = "missing or reordered" if facts.seq > self.expected_seq else "duplicated"
            self._break(event_id, facts.seq, f"expected event {self.expected_seq}: {missing}")
        elif prev_hash != self.previous:
            self._break(event_id, facts.seq, "does not follow the event before it")
        elif not hmac.compare_digest(link(self.key, prev_hash, facts), hash_):
            self._break(event_id, facts.seq, "its content was changed after it was written")
        self.expected_seq = facts.seq + 1
        self.previous = hash_

    def finish(self, head_seq: int | None, head_hash: str | None) -> None:
        """Compare the end of the walk with the chain's recorded head (catches a cut tail)."""
        if self.first_break is not None:
            return
        last_seq = self.expected_seq - 1
        if head_seq is None:
            if self.events:
                self._break(None, None, "events exist but the chain has no recorded head")
        elif (head_seq, head_hash) != (last_seq, self.previous):
            self._break(
                None,
                head_seq,
                f"the chain's head is event {head_seq}; the events end at {last_seq}",
            )

    def _break(self, event_id: str | None, seq: int | None, reason: str) -> None:
        self.first_break = ChainBreak(self.province_code, seq, event_id, reason)
