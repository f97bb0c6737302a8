"""A voucher's audit history includes the chunk events of the bulk jobs that issued and expired
it: a push and the year-end expiry record one event per chunk under the scheme, naming their
vouchers by a range of ids, and an auditor asking about one voucher must still see both."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from test_crash_safety import PEOPLE, PUSH_FACE, push_scheme

from builders import Clock, deposit, import_people, person
from skillvoucher.application import issuance, lifecycle
from skillvoucher.application.audit_views import AuditQuery, audit_events_for
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Principal, PrincipalKind, Role, Scope, permissions_for
from skillvoucher.domain.vouchers import EXPIRED_ACTION, PUSHED_ACTION
from skillvoucher.persistence.tables import Voucher

CHUNK = 4
HOLDERS = 10  # chunks of 4, 4 and 2: most vouchers share their chunk event with others


def _auditor() -> Principal:
    return Principal(
        PrincipalKind.STAFF,
        uuid.uuid4(),
        Role.AUDITOR,
        permissions_for(Role.AUDITOR),
        Scope.of_region("140000"),
        "staff:auditor",
    )


def _vouchers(ctx: AppContext, scheme_id: uuid.UUID) -> list[uuid.UUID]:
    with ctx.unit_of_work() as uow:
        found = uow.session.scalars(sa.select(Voucher.id).where(Voucher.scheme_id == scheme_id))
        return list(found)


def test_a_pushed_and_expired_voucher_shows_its_chunk_events(ctx: AppContext, clock: Clock) -> None:
    ctx.settings = ctx.settings.model_copy(update={"chunk_size": CHUNK})
    import_people(ctx, [person(name=f"求职者{i}", today=clock.today) for i in range(HOLDERS)])
    deposit(ctx, 2 * PEOPLE * PUSH_FACE)
    due = push_scheme(ctx, "TY-2026-HIST-DUE", 30)
    lasting = push_scheme(ctx, "TY-2026-HIST-LAST", 3650)
    for scheme in (due, lasting):
        assert issuance.push_issue(ctx, scheme.code).issued == HOLDERS
    clock.advance(timedelta(days=31))
    assert lifecycle.expire_vouchers(ctx) == HOLDERS

    auditor = _auditor()
    for scheme, actions in ((due, [PUSHED_ACTION, EXPIRED_ACTION]), (lasting, [PUSHED_ACTION])):
        for voucher in _vouchers(ctx, scheme.id):
            with ctx.unit_of_work() as uow:
                events = uow.audit.for_entity("voucher", voucher)
            assert [e.action for e in events] == actions
            for event in events:
                assert event.entity_id == str(scheme.id)  # the other scheme's chunks stay out
                assert event.payload["first_voucher"] <= str(voucher)
                assert event.payload["last_voucher"] >= str(voucher)
            # The auditor's page (API and admin pages) finds the same, newest first.
            query = AuditQuery(entity_type="voucher", entity_id=str(voucher))
            page = audit_events_for(ctx, auditor, query, None, 50)
            assert [line.action for line in page.items] == actions[::-1]


def test_events_about_other_things_are_unchanged(ctx: AppContext, clock: Clock) -> None:
    import_people(ctx, [person(name=f"求职者{i}", today=clock.today) for i in range(3)])
    deposit(ctx, PEOPLE * PUSH_FACE)
    scheme = push_scheme(ctx, "TY-2026-HIST-ONE", 30)
    issuance.push_issue(ctx, scheme.code)
    with ctx.unit_of_work() as uow:
        about_scheme = [e.action for e in uow.audit.for_entity("scheme", scheme.id)]
        not_a_voucher = uow.audit.for_entity("voucher", "not-an-id")
        unknown = uow.audit.for_entity("voucher", uuid.uuid4())
    assert about_scheme.count(PUSHED_ACTION) == 1
    assert not_a_voucher == []
    assert unknown == []
