"""The people registry's vocabulary: target groups and e-SSC card status."""

from __future__ import annotations

from enum import StrEnum


class TargetGroup(StrEnum):
    """Target-group labels fed from the social-security system.

    The order is fixed forever: each label's position is its bit in ``target_groups_mask``,
    which lets eligibility compile to one integer test in SQL.
    """

    UNEMPLOYED = "unemployed"
    POVERTY_ALLEVIATED = "poverty_alleviated"  # lifted out of poverty / marginal household
    SCHOOL_LEAVER = "school_leaver"  # junior- or senior-high leaver not continuing study
    RURAL_MIGRANT_WORKER = "rural_migrant_worker"
    LAID_OFF = "laid_off"
    RETIRED_SOLDIER = "retired_soldier"
    DISABLED = "disabled"
    COLLEGE_GRADUATE = "college_graduate"  # in the graduation year
    UNEMPLOYED_GRADUATE = "unemployed_graduate"
    EMPLOYEE = "employee"  # on-the-job employee

    @property
    def bit(self) -> int:
        return _BITS[self]


_BITS: dict[TargetGroup, int] = {group: 1 << i for i, group in enumerate(TargetGroup)}


TARGET_GROUP_LABELS_ZH: dict[TargetGroup, str] = {
    TargetGroup.UNEMPLOYED: "失业人员",
    TargetGroup.POVERTY_ALLEVIATED: "脱贫人口（含防止返贫监测对象）",
    TargetGroup.SCHOOL_LEAVER: "未继续升学的初高中毕业生",
    TargetGroup.RURAL_MIGRANT_WORKER: "农村转移就业劳动者",
    TargetGroup.LAID_OFF: "下岗失业人员",
    TargetGroup.RETIRED_SOLDIER: "退役军人",
    TargetGroup.DISABLED: "残疾人",
    TargetGroup.COLLEGE_GRADUATE: "毕业年度高校毕业生",
    TargetGroup.UNEMPLOYED_GRADUATE: "离校未就业高校毕业生",
    TargetGroup.EMPLOYEE: "企业在职职工",
}


def groups_to_mask(
    groups: frozenset[TargetGroup] | set[TargetGroup] | tuple[TargetGroup, ...],
) -> int:
    mask = 0
    for group in groups:
        mask |= _BITS[group]
    return mask


def mask_to_groups(mask: int) -> frozenset[TargetGroup]:
    return frozenset(g for g, bit in _BITS.items() if mask & bit)


class CardStatus(StrEnum):
    """Electronic social security card status; only an active card can hold vouchers."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    NONE = "none"
