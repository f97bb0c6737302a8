"""The facts the risk rules read, as SQL aggregates within a principal's scope.

Every query groups on indexed columns (enrolments by institution and time, people by mobile,
attendance by device and time, enrolments by person, occupation and level, refusal audit
events by region and time) and returns at most ``limit`` rows; time windows bound the scans of
the busiest tables.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.attendance import REFUSED_ACTION
from skillvoucher.domain.identity import mask_mobile
from skillvoucher.domain.risk import (
    DEVICE_WINDOW,
    NEW_INSTITUTION_AGE,
    REFUSED_ATTENDANCE_MIN,
    REFUSED_ATTENDANCE_WINDOW,
    REPEAT_MIN_ENROLMENTS,
    SHARED_MOBILE_MIN_HOLDERS,
    SPIKE_BASELINE_WEEKS,
    SPIKE_WINDOW,
    DeviceUse,
    InstitutionFacts,
    RefusedAttendance,
    RepeatedTraining,
    SharedMobile,
)
from skillvoucher.domain.vouchers import EnrolmentStatus, VoucherStatus
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import (
    AttendanceEvent,
    AuditEvent,
    Enrolment,
    Institution,
    Person,
    Voucher,
)

LIVE_VOUCHERS = (
    VoucherStatus.ISSUED,
    VoucherStatus.ENROLLED,
    VoucherStatus.IN_TRAINING,
    VoucherStatus.COMPLETED,
)


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def institution_facts(
    session: Session, scope: Scope, now: datetime, limit: int
) -> list[InstitutionFacts]:
    """Enrolment counts and voucher outcomes of the institutions within ``scope`` that have
    any enrolment at all."""
    in_scope = within_scope(
        sa.select(Institution.id), scope, region=Institution.region_code, institution=Institution.id
    )
    week_start = now - SPIKE_WINDOW
    baseline_start = week_start - SPIKE_WINDOW * SPIKE_BASELINE_WEEKS
    since = min(baseline_start, now - NEW_INSTITUTION_AGE)
    recent = (
        sa.select(
            Enrolment.institution_id.label("institution_id"),
            _count_if(Enrolment.enrolled_at >= week_start).label("last_week"),
            _count_if(
                sa.and_(Enrolment.enrolled_at >= baseline_start, Enrolment.enrolled_at < week_start)
            ).label("baseline"),
            _count_if(Enrolment.enrolled_at >= now - NEW_INSTITUTION_AGE).label("new_window"),
        )
        .where(Enrolment.institution_id.in_(in_scope), Enrolment.enrolled_at >= since)
        .group_by(Enrolment.institution_id)
        .subquery()
    )
    outcomes = (
        sa.select(
            Voucher.institution_id.label("institution_id"),
            _count_if(Voucher.enrolled_at.is_not(None)).label("enrolled"),
            _count_if(Voucher.completed_at.is_not(None)).label("completed"),
            _count_if(Voucher.certificate_no.is_not(None)).label("certified"),
        )
        .where(Voucher.institution_id.in_(in_scope))
        .group_by(Voucher.institution_id)
        .subquery()
    )
    stmt = (
        sa.select(
            Institution.id,
            Institution.credit_code,
            Institution.name,
            Institution.region_code,
            Institution.created_at,
            sa.func.coalesce(recent.c.last_week, 0),
            sa.func.coalesce(recent.c.baseline, 0),
            sa.func.coalesce(recent.c.new_window, 0),
            sa.func.coalesce(outcomes.c.enrolled, 0),
            sa.func.coalesce(outcomes.c.completed, 0),
            sa.func.coalesce(outcomes.c.certified, 0),
        )
        .outerjoin(recent, recent.c.institution_id == Institution.id)
        .outerjoin(outcomes, outcomes.c.institution_id == Institution.id)
        .where(Institution.id.in_(in_scope))
        .where(sa.or_(recent.c.institution_id.is_not(None), outcomes.c.enrolled > 0))
        .order_by(Institution.id)
        .limit(limit)
    )
    return [
        InstitutionFacts(i, code, name, region, created, *(int(n) for n in counts))
        for i, code, name, region, created, *counts in session.execute(stmt)
    ]


def shared_mobiles(session: Session, scope: Scope, limit: int) -> list[SharedMobile]:
    """Mobile numbers shared by at least SHARED_MOBILE_MIN_HOLDERS holders of live vouchers
    within ``scope``; the numbers leave this module masked."""
    live = (
        sa.select()
        .select_from(Person)
        .join(Voucher, Voucher.person_id == Person.id)
        .where(Person.mobile.is_not(None), Voucher.status.in_(LIVE_VOUCHERS))
    )
    holders = (
        within_scope(live, scope, region=Voucher.region_code, person=Voucher.person_id)
        .add_columns(Person.mobile.label("mobile"), Person.id.label("person_id"))
        .distinct()
        .subquery()
    )
    shared = (
        sa.select(holders.c.mobile)
        .group_by(holders.c.mobile)
        .having(sa.func.count() >= SHARED_MOBILE_MIN_HOLDERS)
        .order_by(sa.func.count().desc(), holders.c.mobile)
        .limit(limit)
    )
    numbers = list(session.scalars(shared))
    if not numbers:
        return []
    members = session.execute(
        sa.select(Person.mobile, Person.id, Person.household_region)
        .where(Person.id.in_(sa.select(holders.c.person_id)), Person.mobile.in_(numbers))
        .order_by(Person.mobile, Person.id)
    ).all()
    grouped: dict[str, list[Any]] = {}
    for mobile, person_id, region in members:
        grouped.setdefault(str(mobile), []).append((person_id, region))
    return [
        SharedMobile(
            mask_mobile(mobile),
            grouped[mobile][0][1],
            [person_id for person_id, _region in grouped[mobile]],
        )
        for mobile in numbers
        if mobile in grouped
    ]


def device_uses(session: Session, scope: Scope, now: datetime, limit: int) -> list[DeviceUse]:
    """Attendance devices seen at more than one institution in the last DEVICE_WINDOW, with
    the number of people they checked in."""
    people = sa.func.count(sa.distinct(Voucher.person_id))
    institutions = sa.func.count(sa.distinct(AttendanceEvent.institution_id))
    recent = (
        sa.select()
        .select_from(AttendanceEvent)
        .join(Voucher, Voucher.id == AttendanceEvent.voucher_id)
        .where(
            AttendanceEvent.device_id.is_not(None),
            AttendanceEvent.occurred_at >= now - DEVICE_WINDOW,
        )
    )
    stmt = (
        within_scope(
            recent,
            scope,
            region=AttendanceEvent.region_code,
            institution=AttendanceEvent.institution_id,
        )
        .add_columns(
            AttendanceEvent.device_id,
            sa.func.min(AttendanceEvent.region_code),
            people,
            institutions,
            sa.func.count(),
        )
        .group_by(AttendanceEvent.device_id)
        .having(institutions > 1)
        .order_by(people.desc(), AttendanceEvent.device_id)
        .limit(limit)
    )
    return [
        DeviceUse(str(device), str(region), int(n), int(i), int(events))
        for device, region, n, i, events in session.execute(stmt)
    ]


def repeated_trainings(session: Session, scope: Scope, limit: int) -> list[RepeatedTraining]:
    """People with more than one live enrolment in the same occupation and skill level."""
    enrolments = sa.func.count(Enrolment.id)
    live = (
        sa.select()
        .select_from(Enrolment)
        .join(Person, Person.id == Enrolment.person_id)
        .where(Enrolment.status == EnrolmentStatus.ACTIVE)
    )
    stmt = (
        within_scope(
            live,
            scope,
            region=Enrolment.region_code,
            person=Enrolment.person_id,
            institution=Enrolment.institution_id,
        )
        .add_columns(
            Enrolment.person_id,
            Person.id_masked,
            sa.func.min(Enrolment.region_code),
            Enrolment.occupation_code,
            Enrolment.skill_level,
            enrolments,
            sa.func.count(sa.distinct(Enrolment.institution_id)),
        )
        .group_by(
            Enrolment.person_id, Person.id_masked, Enrolment.occupation_code, Enrolment.skill_level
        )
        .having(enrolments >= REPEAT_MIN_ENROLMENTS)
        .order_by(enrolments.desc(), Enrolment.person_id)
        .limit(limit)
    )
    return [
        RepeatedTraining(
            person_id, masked, str(region), occupation, str(level), int(n), int(institutions)
        )
        for person_id, masked, region, occupation, level, n, institutions in session.execute(stmt)
    ]


def refused_attendance(
    session: Session, scope: Scope, now: datetime, limit: int
) -> list[RefusedAttendance]:
    """Institutions with at least REFUSED_ATTENDANCE_MIN attendance events refused in the last
    REFUSED_ATTENDANCE_WINDOW, read from the refusals' audit events (the refused events
    themselves are never stored), with their counts per rule and per device."""
    # The audit event's region is the voucher's; its payload names the institution and device.
    institution = AuditEvent.payload["institution_id"].as_string()
    refusals = within_scope(
        sa.select().where(
            AuditEvent.action == REFUSED_ACTION,
            AuditEvent.occurred_at >= now - REFUSED_ATTENDANCE_WINDOW,
        ),
        scope,
        region=AuditEvent.region_code,
    )
    count = sa.func.count()
    busiest = (
        refusals.add_columns(
            institution,
            sa.func.min(AuditEvent.occurred_at),
            sa.func.max(AuditEvent.occurred_at),
        )
        .group_by(institution)
        .having(count >= REFUSED_ATTENDANCE_MIN)
        .order_by(count.desc(), institution)
        .limit(limit)
    )
    spans = {str(i): (first, last) for i, first, last in session.execute(busiest)}
    if not spans:
        return []
    rule = AuditEvent.payload["rule"].as_string()
    device = AuditEvent.payload["device_id"].as_string()
    breakdown = (
        refusals.add_columns(institution, rule, device, count)
        .where(institution.in_(list(spans)))
        .group_by(institution, rule, device)
    )
    by_rule: dict[str, dict[str, int]] = {i: {} for i in spans}
    by_device: dict[str, dict[str, int]] = {i: {} for i in spans}
    for institution_id, rule_code, device_id, n in session.execute(breakdown):
        rules = by_rule[str(institution_id)]
        rules[str(rule_code)] = rules.get(str(rule_code), 0) + int(n)
        if device_id is not None:
            devices = by_device[str(institution_id)]
            devices[str(device_id)] = devices.get(str(device_id), 0) + int(n)
    named = session.execute(
        sa.select(
            Institution.id, Institution.credit_code, Institution.name, Institution.region_code
        ).where(Institution.id.in_([uuid.UUID(i) for i in spans]))
    )
    found = {str(i): (i, code, name, region) for i, code, name, region in named}
    return [
        RefusedAttendance(*found[i], by_rule[i], by_device[i], *spans[i])
        for i in spans  # in the order of the busiest first
        if i in found
    ]
