"""Training institutions and courses: the vocabulary of the approved catalogue."""

from __future__ import annotations

from enum import StrEnum


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class CourseApproval(StrEnum):
    """An administrator's standing on one course: only an approved course takes a voucher.

    The bureau's own catalogue file brings courses in approved; an administrator may refuse one
    (and approve it again on reconsideration). ``pending`` is for courses that wait for a first
    decision: no import creates it today.
    """

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class CourseMode(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class DeliveryModes(StrEnum):
    """What an institution is approved to deliver."""

    ONLINE = "online"
    OFFLINE = "offline"
    BOTH = "both"

    def allows(self, mode: CourseMode) -> bool:
        return self is DeliveryModes.BOTH or self.value == mode.value


class SkillLevel(StrEnum):
    """National vocational skill levels 5 (初级工) to 1 (高级技师), or a non-graded certificate."""

    LEVEL_5 = "5"
    LEVEL_4 = "4"
    LEVEL_3 = "3"
    LEVEL_2 = "2"
    LEVEL_1 = "1"
    SPECIAL = "special"  # special vocational ability certificate (专项职业能力证书)
    COMPLETION = "completion"  # training completion certificate (培训合格证书)


SKILL_LEVEL_LABELS_ZH: dict[SkillLevel, str] = {
    SkillLevel.LEVEL_5: "五级/初级工",
    SkillLevel.LEVEL_4: "四级/中级工",
    SkillLevel.LEVEL_3: "三级/高级工",
    SkillLevel.LEVEL_2: "二级/技师",
    SkillLevel.LEVEL_1: "一级/高级技师",
    SkillLevel.SPECIAL: "专项职业能力",
    SkillLevel.COMPLETION: "培训合格",
}
