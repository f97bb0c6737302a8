"""Several deliverers at once on PostgreSQL: each notice is sent once, none is left behind."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

from builders import Clock, enrol, issue, training_world
from skillvoucher.application.context import AppContext
from skillvoucher.application.notice_channels import OutgoingNotice
from skillvoucher.application.notice_delivery import deliver_pending
from skillvoucher.credentials.keys import KeyStore
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.notices import NoticeKind
from skillvoucher.persistence.database import create_engine_for, session_factory
from skillvoucher.persistence.repositories.dialect import bulk_insert
from skillvoucher.persistence.tables import HolderNotice

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]

DELIVERERS = 4
NOTICES = 300


@pytest.fixture
def pool_ctx(ctx: AppContext, clock: Clock) -> Iterator[AppContext]:
    engine = create_engine_for(
        ctx.settings.resolved_database_url, pool_size=DELIVERERS * 2, max_overflow=0
    )
    shared = AppContext(
        engine=engine,
        sessions=session_factory(engine),
        keys=KeyStore(ctx.settings.resolved_key_dir),
        settings=ctx.settings,
        clock=clock,
    )
    try:
        yield shared
    finally:
        shared.close()


class CountingChannel:
    name = "counting"
    needs_mobile = False

    def __init__(self) -> None:
        self.sent: Counter[uuid.UUID] = Counter()
        self._lock = threading.Lock()

    def send(self, notice: OutgoingNotice) -> str:
        time.sleep(0.001)  # long enough for the deliverers' passes to overlap
        with self._lock:
            self.sent[notice.notice_id] += 1
        return "sent"


def test_concurrent_deliverers_send_each_notice_once(pool_ctx: AppContext, clock: Clock) -> None:
    world = training_world(pool_ctx, people=1)
    voucher_id = issue(pool_ctx, world.scheme.code, world.people[0]).voucher_id
    enrol(pool_ctx, voucher_id, world.institution)
    with pool_ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        assert voucher is not None
        bulk_insert(
            uow.session,
            HolderNotice,
            [
                {
                    "id": new_id(),
                    "person_id": voucher.person_id,
                    "voucher_id": voucher_id,
                    "region_code": voucher.region_code,
                    "province_code": voucher.province_code,
                    "kind": NoticeKind.ENROLLED,
                    "payload": {},
                    "created_at": clock.now,
                    "delivered_at": None,
                    "attempts": 0,
                    "next_attempt_at": clock.now,
                    "channel_results": {},
                }
                for _ in range(NOTICES - 1)  # and the enrolment's own notice
            ],
        )
        uow.commit()
    channel = CountingChannel()
    barrier = threading.Barrier(DELIVERERS)
    claimed: list[int] = []
    failures: list[BaseException] = []

    def deliverer() -> None:
        barrier.wait()
        try:
            while (report := deliver_pending(pool_ctx, [channel], limit=25)).claimed:
                claimed.append(report.claimed)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=deliverer) for _ in range(DELIVERERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive()

    assert failures == []
    assert sum(claimed) == NOTICES
    assert len(channel.sent) == NOTICES
    assert set(channel.sent.values()) == {1}, "a notice was sent twice"
    assert len(claimed) > DELIVERERS  # the work really was shared out in passes
    with pool_ctx.unit_of_work() as uow:
        assert uow.notices.counts() == {"delivered": NOTICES}
