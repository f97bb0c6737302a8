"""Holder notices: an outbox row per holder-facing change, in the change's own transaction, and
delivery through channels with retries."""

from __future__ import annotations

import logging
import uuid
from datetime import date, timedelta

import httpx2 as httpx
import pytest
import sqlalchemy as sa

from builders import Clock, enrol, issue, training_world
from skillvoucher.application import enrolment, settlement, settlement_batches, training
from skillvoucher.application.context import AppContext
from skillvoucher.application.notice_channels import (
    ChannelFailed,
    EsscMessageBoxChannel,
    LogChannel,
    OutgoingNotice,
    SmsChannel,
)
from skillvoucher.application.notice_delivery import deliver_pending
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.catalogue import SkillLevel
from skillvoucher.domain.errors import ConsentInvalid
from skillvoucher.domain.notices import NoticeKind, attendance_milestone, retry_delay_seconds
from skillvoucher.persistence.tables import HolderNotice

MARCH = (date(2026, 3, 1), date(2026, 3, 31))
COURSE_MINUTES = 80 * 60  # the builders' course has 80 hours; the scheme needs 80 per cent


def notices(ctx: AppContext) -> list[HolderNotice]:
    with ctx.unit_of_work() as uow:
        stmt = sa.select(HolderNotice).order_by(HolderNotice.created_at, HolderNotice.id)
        return list(uow.session.scalars(stmt))


def kinds(ctx: AppContext) -> list[NoticeKind]:
    return [n.kind for n in notices(ctx)]


def attend(ctx: AppContext, clock: Clock, voucher_id: uuid.UUID, minutes: int) -> None:
    clock.advance(timedelta(days=1))
    training.record_attendance(ctx, voucher_id, AttendanceSource.FACE, clock.now, minutes, "d1")


def test_each_holder_facing_change_writes_one_notice(ctx: AppContext, clock: Clock) -> None:
    world = training_world(ctx, people=1)
    voucher_id = issue(ctx, world.scheme.code, world.people[0]).voucher_id
    assert kinds(ctx) == []  # issuance is announced by the issuing channel, not the outbox

    enrol(ctx, voucher_id, world.institution)
    attend(ctx, clock, voucher_id, 60)  # the first check-in: a milestone
    attend(ctx, clock, voucher_id, 60)  # an ordinary one: no notice
    for _ in range(8):  # 80 % of 80 hours is 64 hours: crossed on the eighth of these
        attend(ctx, clock, voucher_id, 480)
    training.record_completion(ctx, voucher_id)
    training.record_completion(ctx, voucher_id, "CERT-0001", SkillLevel.LEVEL_5)
    run = settlement.run_settlement(ctx, *MARCH)
    [batch] = run.created
    settlement_batches.approve_batch(ctx, batch.batch_id, "staff:approver")

    assert kinds(ctx) == [
        NoticeKind.ENROLLED,
        NoticeKind.ATTENDANCE_STARTED,
        NoticeKind.ATTENDANCE_REACHED,
        NoticeKind.COMPLETED,
        NoticeKind.CERTIFIED,
        NoticeKind.SETTLED,
        NoticeKind.SETTLEMENT_APPROVED,
    ]
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        assert voucher is not None
    found = notices(ctx)
    assert {n.person_id for n in found} == {voucher.person_id}
    assert {n.voucher_id for n in found} == {voucher_id}
    assert found[-1].payload == {"total_fen": batch.total_fen}
    assert found[4].payload == {"certificate_no": "CERT-0001", "level": SkillLevel.LEVEL_5.value}
    assert all(n.delivered_at is None and n.next_attempt_at is not None for n in found)


def test_a_rolled_back_enrolment_leaves_no_notice(ctx: AppContext) -> None:
    world = training_world(ctx, people=1)
    voucher_id = issue(ctx, world.scheme.code, world.people[0]).voucher_id
    with pytest.raises(ConsentInvalid):
        enrolment.enrol(ctx, voucher_id, world.institution, "C1", "000000")
    assert kinds(ctx) == []
    enrol(ctx, voucher_id, world.institution)
    assert kinds(ctx) == [NoticeKind.ENROLLED]


def test_attendance_milestones_are_the_first_minutes_and_the_minimum() -> None:
    assert attendance_milestone(0, 60, 80, 80) is NoticeKind.ATTENDANCE_STARTED
    assert attendance_milestone(60, 120, 80, 80) is None
    assert attendance_milestone(3800, 3840, 80, 80) is NoticeKind.ATTENDANCE_REACHED
    assert attendance_milestone(3840, 3900, 80, 80) is None
    assert attendance_milestone(0, 480, 1, 80) is NoticeKind.ATTENDANCE_REACHED


class FlakyChannel:
    """Fails its first ``failures`` sends, then takes every notice."""

    name = "flaky"
    needs_mobile = False

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[uuid.UUID] = []

    def send(self, notice: OutgoingNotice) -> str:
        if self.failures > 0:
            self.failures -= 1
            raise ChannelFailed("flaky is down")
        self.sent.append(notice.notice_id)
        return "sent"


def test_a_failing_channel_is_retried_with_backoff_until_it_takes_the_notice(
    ctx: AppContext, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    world = training_world(ctx, people=1)
    voucher_id = issue(ctx, world.scheme.code, world.people[0]).voucher_id
    enrol(ctx, voucher_id, world.institution)
    log, flaky = LogChannel(), FlakyChannel(failures=2)

    with caplog.at_level(logging.INFO, logger="skillvoucher.notices"):
        first = deliver_pending(ctx, [log, flaky])
        assert (first.claimed, first.delivered, first.retrying) == (1, 0, 1)
        assert deliver_pending(ctx, [log, flaky]).claimed == 0  # not due before its backoff
        clock.advance(timedelta(seconds=retry_delay_seconds(1)))
        second = deliver_pending(ctx, [log, flaky])
        assert (second.claimed, second.retrying) == (1, 1)
        clock.advance(timedelta(seconds=retry_delay_seconds(2)))
        third = deliver_pending(ctx, [log, flaky])
        assert (third.claimed, third.delivered) == (1, 1)
        clock.advance(timedelta(days=1))
        assert deliver_pending(ctx, [log, flaky]).claimed == 0

    [notice] = notices(ctx)
    assert notice.delivered_at is not None
    assert notice.next_attempt_at is None
    assert notice.attempts == 3
    assert notice.channel_results == {"log": "sent", "flaky": "sent"}
    assert flaky.sent == [notice.id]
    lines = [r.getMessage() for r in caplog.records if r.name == "skillvoucher.notices"]
    assert len(lines) == 1  # the log channel took it the first time: never sent again
    assert str(notice.id) in lines[0]
    assert "enrolled" in lines[0]
    holder = world.people[0]
    for private in (holder.resident_id, holder.resident_id[-8:], holder.mobile, holder.name):
        if private:
            assert private not in lines[0]


def test_http_channels_post_to_their_endpoints_without_the_id_number(
    ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx, people=1)
    holder = world.people[0]
    voucher_id = issue(ctx, world.scheme.code, holder).voucher_id
    enrol(ctx, voucher_id, world.institution)
    seen: list[httpx.Request] = []
    answers = iter([503, 200, 200])

    def endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(next(answers) if request.url.host == "essc.test" else 200)

    transport = httpx.MockTransport(endpoint)
    essc = EsscMessageBoxChannel("https://essc.test/messages", "t0ken", 5, transport)
    sms = SmsChannel("https://sms.test/send", None, 5, transport)

    assert deliver_pending(ctx, [essc, sms]).retrying == 1  # e-SSC 503, SMS sent
    clock.advance(timedelta(minutes=1))
    assert deliver_pending(ctx, [essc, sms]).delivered == 1  # only the e-SSC again

    hosts = [r.url.host for r in seen]
    assert hosts == ["essc.test", "sms.test", "essc.test"]
    [notice] = notices(ctx)
    assert all(r.headers["Idempotency-Key"] == str(notice.id) for r in seen)
    assert seen[0].headers["Authorization"] == "Bearer t0ken"
    for request in seen:
        assert holder.resident_id.encode() not in request.content
    if holder.mobile:
        assert holder.mobile.encode() in seen[1].content  # the SMS needs the number
        assert holder.mobile.encode() not in seen[0].content
