"""The voucher lifecycle as one transition table.

issued → enrolled → in_training → completed → settled, with side exits: expired and revoked,
and a cancelled enrolment that goes back to issued while the voucher is still valid.
"""

from __future__ import annotations

from enum import StrEnum

from skillvoucher.domain.errors import IllegalTransition

PUSHED_ACTION = "vouchers.pushed"
"""The audit action of one chunk of a push issuance: one event of the scheme for many vouchers."""
EXPIRED_ACTION = "vouchers.expired"
"""The audit action of one scheme's vouchers in one chunk of the year-end expiry."""


class VoucherStatus(StrEnum):
    ISSUED = "issued"
    ENROLLED = "enrolled"
    IN_TRAINING = "in_training"
    COMPLETED = "completed"
    SETTLED = "settled"
    EXPIRED = "expired"
    REVOKED = "revoked"


class VoucherEvent(StrEnum):
    ENROL = "enrol"
    CANCEL_ENROLMENT = "cancel_enrolment"
    START_TRAINING = "start_training"
    COMPLETE = "complete"
    SETTLE = "settle"
    EXPIRE = "expire"
    REVOKE = "revoke"
    CLAW_BACK = "claw_back"  # fraud or error found after money was earned: recover it


S, E = VoucherStatus, VoucherEvent

TRANSITIONS: dict[tuple[VoucherStatus, VoucherEvent], VoucherStatus] = {
    (S.ISSUED, E.ENROL): S.ENROLLED,
    (S.ENROLLED, E.CANCEL_ENROLMENT): S.ISSUED,
    (S.ENROLLED, E.START_TRAINING): S.IN_TRAINING,
    (S.IN_TRAINING, E.COMPLETE): S.COMPLETED,
    (S.COMPLETED, E.SETTLE): S.SETTLED,
    (S.ISSUED, E.EXPIRE): S.EXPIRED,
    (S.ISSUED, E.REVOKE): S.REVOKED,
    (S.ENROLLED, E.REVOKE): S.REVOKED,
    (S.IN_TRAINING, E.REVOKE): S.REVOKED,
    (S.ENROLLED, E.CLAW_BACK): S.REVOKED,
    (S.IN_TRAINING, E.CLAW_BACK): S.REVOKED,
    (S.COMPLETED, E.CLAW_BACK): S.REVOKED,
    (S.SETTLED, E.CLAW_BACK): S.REVOKED,
}

# Statuses in which a voucher still holds a commitment on the scheme's budget.
OPEN_STATUSES = frozenset({S.ISSUED, S.ENROLLED, S.IN_TRAINING, S.COMPLETED})
TERMINAL_STATUSES = frozenset({S.SETTLED, S.EXPIRED, S.REVOKED})
# A claw-back may reopen a settled voucher to take its money back; nothing else leaves these.
FINAL_STATUSES = frozenset({S.EXPIRED, S.REVOKED})


def next_status(current: VoucherStatus, event: VoucherEvent) -> VoucherStatus:
    """Return the status after ``event``, or raise IllegalTransition naming both."""
    try:
        return TRANSITIONS[(current, event)]
    except KeyError:
        raise IllegalTransition(
            f"a voucher that is {current.value} cannot {event.value.replace('_', ' ')}"
        ) from None


def sources_of(event: VoucherEvent) -> list[VoucherStatus]:
    """Every status from which ``event`` is allowed (for conditional UPDATE statements)."""
    return [status for (status, ev) in TRANSITIONS if ev is event]


class EnrolmentStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
