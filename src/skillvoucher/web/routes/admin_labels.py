"""Names of the catalogue's and schemes' vocabulary as the console shows them (English msgids,
translated where shown), and the badge colour of each status."""

from __future__ import annotations

from skillvoucher.domain.catalogue import (
    ApprovalStatus,
    CourseApproval,
    CourseMode,
    DeliveryModes,
    SkillLevel,
)
from skillvoucher.domain.people import TargetGroup
from skillvoucher.domain.schemes import IssuanceMode, SchemeStatus, SchemeType
from skillvoucher.domain.settlement import Evidence
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.web.i18n import N_

TARGET_GROUPS = {
    TargetGroup.UNEMPLOYED: N_("Registered unemployed"),
    TargetGroup.POVERTY_ALLEVIATED: N_("Lifted out of poverty"),
    TargetGroup.SCHOOL_LEAVER: N_("School leavers not continuing study"),
    TargetGroup.RURAL_MIGRANT_WORKER: N_("Rural migrant workers"),
    TargetGroup.LAID_OFF: N_("Laid-off workers"),
    TargetGroup.RETIRED_SOLDIER: N_("Retired soldiers"),
    TargetGroup.DISABLED: N_("People with disabilities"),
    TargetGroup.COLLEGE_GRADUATE: N_("College graduates of the year"),
    TargetGroup.UNEMPLOYED_GRADUATE: N_("Unemployed graduates"),
    TargetGroup.EMPLOYEE: N_("Employees on the job"),
}
SKILL_LEVELS = {
    SkillLevel.LEVEL_5: N_("Level 5 (junior)"),
    SkillLevel.LEVEL_4: N_("Level 4 (intermediate)"),
    SkillLevel.LEVEL_3: N_("Level 3 (senior)"),
    SkillLevel.LEVEL_2: N_("Level 2 (technician)"),
    SkillLevel.LEVEL_1: N_("Level 1 (senior technician)"),
    SkillLevel.SPECIAL: N_("Special vocational ability"),
    SkillLevel.COMPLETION: N_("Training completion"),
}
COURSE_MODES = {CourseMode.ONLINE: N_("Online"), CourseMode.OFFLINE: N_("In person")}
DELIVERY_MODES = {
    DeliveryModes.ONLINE: N_("Online"),
    DeliveryModes.OFFLINE: N_("In person"),
    DeliveryModes.BOTH: N_("Online and in person"),
}
SCHEME_TYPES = {SchemeType.INDIVIDUAL: N_("Individual"), SchemeType.ENTERPRISE: N_("Enterprise")}
ISSUANCE_MODES = {
    IssuanceMode.PUSH: N_("Pushed to everyone eligible"),
    IssuanceMode.APPLICATION: N_("On application"),
    IssuanceMode.CLAIM: N_("Claimed, first come first served"),
}
SCHEME_STATUSES = {
    SchemeStatus.DRAFT: N_("Draft, not launched"),
    SchemeStatus.ACTIVE: N_("Active"),
    SchemeStatus.PAUSED: N_("Paused"),
    SchemeStatus.CLOSED: N_("Closed"),
}
APPROVAL_STATUSES = {
    ApprovalStatus.PENDING: N_("Awaiting approval"),
    ApprovalStatus.APPROVED: N_("Approved for training"),
    ApprovalStatus.SUSPENDED: N_("Suspended"),
    ApprovalStatus.REVOKED: N_("Refused"),
}
COURSE_APPROVALS = {
    CourseApproval.PENDING: N_("Awaiting approval"),
    CourseApproval.APPROVED: N_("Approved"),
    CourseApproval.REFUSED: N_("Refused"),
}
VOUCHER_STATUSES = {
    VoucherStatus.ISSUED: N_("Issued, not yet used"),
    VoucherStatus.ENROLLED: N_("Enrolled at an institution"),
    VoucherStatus.IN_TRAINING: N_("In training"),
    VoucherStatus.COMPLETED: N_("Training completed"),
    VoucherStatus.SETTLED: N_("Settled"),
    VoucherStatus.EXPIRED: N_("Expired"),
    VoucherStatus.REVOKED: N_("Voucher revoked"),
}
EVIDENCE = {
    Evidence.ENROLMENT: N_("Enrolment"),
    Evidence.ATTENDANCE: N_("Attendance reached the minimum"),
    Evidence.COMPLETION: N_("Completion"),
    Evidence.CERTIFICATE: N_("Certificate"),
}
DECISIONS = {
    "institution.approved": N_("Approved for training"),
    "institution.refused": N_("Refused"),
    "institution.suspended": N_("Suspended"),
    "institution.reinstated": N_("Reinstated"),
    "course.approved": N_("Approved"),
    "course.refused": N_("Refused"),
}
BADGES = {
    "draft": "",
    "active": "ok",
    "paused": "warn",
    "closed": "",
    "pending": "warn",
    "approved": "ok",
    "suspended": "danger",
    "revoked": "danger",
    "refused": "danger",
}

LABELS = {
    "target_groups": TARGET_GROUPS,
    "skill_levels": SKILL_LEVELS,
    "course_modes": COURSE_MODES,
    "delivery_modes": DELIVERY_MODES,
    "scheme_types": SCHEME_TYPES,
    "issuance_modes": ISSUANCE_MODES,
    "scheme_statuses": SCHEME_STATUSES,
    "approval_statuses": APPROVAL_STATUSES,
    "course_approvals": COURSE_APPROVALS,
    "voucher_statuses": VOUCHER_STATUSES,
    "evidence": EVIDENCE,
    "decisions": DECISIONS,
    "badges": BADGES,
}
"""Every template of the console gets these as ``labels``."""
