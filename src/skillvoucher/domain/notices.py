"""What a holder is told, and when: the audit actions that concern them become notices.

A notice is written in the same transaction as the change it reports (an outbox row) and sent
afterwards; so a change that rolls back was never announced, and one that commits always is.
"""

from __future__ import annotations

from enum import StrEnum

from skillvoucher.domain.settlement import attendance_percent


class NoticeKind(StrEnum):
    ENROLLED = "enrolled"
    ENROLMENT_CANCELLED = "enrolment_cancelled"
    ATTENDANCE_STARTED = "attendance_started"  # the first check-in of an enrolment
    ATTENDANCE_REACHED = "attendance_reached"  # the scheme's minimum attendance reached
    COMPLETED = "completed"
    CERTIFIED = "certified"
    SETTLEMENT_APPROVED = "settlement_approved"  # a line of theirs in an approved batch
    SETTLEMENT_PAID = "settlement_paid"
    SETTLED = "settled"  # the voucher is closed, every stage paid for
    REVOKED = "revoked"
    CLAWED_BACK = "clawed_back"
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_RESOLVED = "dispute_resolved"


# Audit action → the notice it makes for the voucher's holder. Attendance is not here: only
# its milestones make notices (``attendance_milestone``), or a class would send one per session.
VOUCHER_ACTIONS: dict[str, NoticeKind] = {
    "voucher.enrolled": NoticeKind.ENROLLED,
    "voucher.enrolment_cancelled": NoticeKind.ENROLMENT_CANCELLED,
    "voucher.completed": NoticeKind.COMPLETED,
    "voucher.certified": NoticeKind.CERTIFIED,
    "voucher.settled": NoticeKind.SETTLED,
    "voucher.revoked": NoticeKind.REVOKED,
    "voucher.clawed_back": NoticeKind.CLAWED_BACK,
}
ATTENDED_ACTION = "voucher.attended"
# Batch actions make one notice per holder with a (not withheld) line in the batch.
BATCH_ACTIONS: dict[str, NoticeKind] = {
    "settlement.batch_approved": NoticeKind.SETTLEMENT_APPROVED,
    "settlement.batch_paid": NoticeKind.SETTLEMENT_PAID,
}
DISPUTE_ACTIONS: dict[str, NoticeKind] = {
    "dispute.opened": NoticeKind.DISPUTE_OPENED,
    "dispute.upheld": NoticeKind.DISPUTE_RESOLVED,
    "dispute.dismissed": NoticeKind.DISPUTE_RESOLVED,
}
# Event payload keys a notice may carry: facts the holder may read, never an ID number,
# a mobile number or a name. Free text (reasons) stays out too: anyone may have typed anything.
SAFE_PAYLOAD_KEYS = frozenset(
    {"certificate_no", "level", "total_fen", "released_fen", "subject", "outcome"}
)


def attendance_milestone(
    minutes_before: int, minutes_after: int, course_hours: int, min_percent: int
) -> NoticeKind | None:
    """The milestone a check-in passes, if any: the first minutes of attendance, or the
    attendance rate crossing the scheme's minimum (the rate settlement pays on). Reaching
    the minimum with the first check-in reports the minimum, the larger news."""
    reached_before = attendance_percent(minutes_before, course_hours) >= min_percent
    reached_after = attendance_percent(minutes_after, course_hours) >= min_percent
    if reached_after and not reached_before:
        return NoticeKind.ATTENDANCE_REACHED
    if minutes_before == 0 and minutes_after > 0:
        return NoticeKind.ATTENDANCE_STARTED
    return None


def retry_delay_seconds(attempts: int) -> int:
    """Backoff after the ``attempts``-th failed delivery: 1, 2, 4 … minutes, at most 6 hours."""
    return int(min(60 * 2 ** max(attempts - 1, 0), 6 * 3600))


MAX_DELIVERY_ATTEMPTS = 12  # about two days of backoff; then a person looks at the channel
