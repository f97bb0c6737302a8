"""A small country for the statistics dashboard's tests (pages and browser): vouchers issued,
enrolled, completed, certified and paid in Taiyuan (two districts), issued and enrolled in
Datong, issued in Henan province."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from builders import (
    OTHER_CITY,
    Clock,
    deposit,
    enrol,
    import_course,
    import_institution,
    import_people,
    issue,
    make_scheme,
    person,
    publish_and_pay,
)
from skillvoucher.application import settlement, settlement_batches, training
from skillvoucher.application.context import AppContext
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.people import TargetGroup

XIAODIAN, YINGZE = "140105", "140106"  # two districts of Taiyuan
HENAN = "410000"
MARCH = (date(2026, 3, 1), date(2026, 3, 31))


@dataclass(frozen=True)
class DashboardWorld:
    taiyuan_scheme: str
    datong_scheme: str
    henan_scheme: str
    paid_fen: int


def _trained(ctx: AppContext, clock: Clock, voucher_id: uuid.UUID, school: str) -> None:
    """Enrolled at ``school``, attended in full (80 hours), completed and certified."""
    enrol(ctx, voucher_id, school)
    for _ in range(10):
        clock.advance(timedelta(days=1))
        training.record_attendance(ctx, voucher_id, AttendanceSource.FACE, clock.now, 480, "d1")
    training.record_completion(ctx, voucher_id, f"CERT-{voucher_id.hex[:8]}", SkillLevel.LEVEL_5)


def dashboard_world(ctx: AppContext, clock: Clock) -> DashboardWorld:
    taiyuan = [
        person(region=XIAODIAN, name="张伟"),
        person(region=XIAODIAN, name="李娜", groups=[TargetGroup.COLLEGE_GRADUATE]),
        person(region=YINGZE, name="王强"),
    ]
    datong = [person(region=OTHER_CITY, name="赵敏"), person(region=OTHER_CITY, name="钱进")]
    henan = [person(region=HENAN, name="孙丽")]
    import_people(ctx, [*taiyuan, *datong, *henan])

    jinyang = import_institution(ctx)
    import_course(ctx, jinyang)
    yungang = import_institution(ctx, name="大同市云冈职业培训学校", region=OTHER_CITY)
    import_course(ctx, yungang)

    deposit(ctx)
    deposit(ctx, 30_000_000, region=OTHER_CITY)
    deposit(ctx, 30_000_000, region=HENAN)
    ty = make_scheme(ctx)
    dt = make_scheme(ctx, code="DT-2026-IND", name="大同市培训券", region=OTHER_CITY)
    ha = make_scheme(ctx, code="HA-2026-IND", name="河南省培训券", region=HENAN)

    ty_vouchers = [issue(ctx, ty.code, holder).voucher_id for holder in taiyuan]
    _trained(ctx, clock, ty_vouchers[0], jinyang)
    enrol(ctx, ty_vouchers[1], jinyang)
    dt_vouchers = [issue(ctx, dt.code, holder).voucher_id for holder in datong]
    enrol(ctx, dt_vouchers[0], yungang)
    issue(ctx, ha.code, henan[0])

    # Both institutions are settled for March; only Taiyuan's batch is paid so far.
    paid = 0
    for batch in settlement.run_settlement(ctx, *MARCH).created:
        settlement_batches.approve_batch(ctx, batch.batch_id, "finance-officer")
        if batch.institution_code == jinyang:
            paid += publish_and_pay(ctx, clock, batch.batch_id, "TR-0001").total_fen
    return DashboardWorld(ty.code, dt.code, ha.code, paid)
