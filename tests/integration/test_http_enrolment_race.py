"""The enrolment race through HTTP: fifty simultaneous requests for one voucher, each a valid
attempt with its own live consent code, against a real server. Exactly one is 201; every other
one is a 409 or 403 problem, never a 500; the database shows one enrolment.

On PostgreSQL the requests really run at once; SQLite serialises the writers (BEGIN IMMEDIATE),
which must give the same outcome without a "database is locked" 500. The server is uvicorn on
a free loopback port in a background thread, with a connection pool as large as the crowd; the
requests come from fifty threads released together by a barrier.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import httpx2 as httpx
import pytest
import sqlalchemy as sa

from builders import issue, training_world
from live_server import served
from principals import worker_headers
from skillvoucher.application.audit_verify import verify_audit_chain
from skillvoucher.application.context import AppContext
from skillvoucher.application.enrolment import grant_consent
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.domain.vouchers import EnrolmentStatus, VoucherStatus
from skillvoucher.persistence.tables import Course, Enrolment

pytestmark = pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)

CROWD = 50
# Room for every request's own connection plus the server's sign-in lookups.
POOL = CROWD + 10


@pytest.fixture
def server_url(ctx: AppContext) -> Iterator[str]:
    """A real HTTP server over the test's database, with a connection for every request."""
    # The race is about the database; the consent-code rate limit would refuse most of the
    # fifty first (tests/api/test_rate_limits.py covers it).
    quiet = ctx.settings.model_copy(update={"rate_limits_enabled": False})
    with served(ctx, POOL, quiet) as url:
        yield url


def test_fifty_http_requests_enrol_one_voucher_exactly_once(
    ctx: AppContext, server_url: str
) -> None:
    world = training_world(ctx, people=1)
    voucher_id = issue(ctx, world.scheme.code, world.people[0]).voucher_id
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        assert voucher is not None
        holder = voucher.person_id
        course = uow.session.scalars(sa.select(Course)).one()
    headers = worker_headers(ctx, holder)
    # The holder's app may hold several live codes at once; each request is a valid attempt.
    codes = [grant_consent(ctx, voucher_id).code for _ in range(CROWD)]
    barrier = threading.Barrier(CROWD)
    answers: list[tuple[int, str, dict[str, object]] | BaseException | None] = [None] * CROWD

    def attempt(index: int) -> None:
        body = {
            "voucher_id": str(voucher_id),
            "course_id": str(course.id),
            "consent_code": codes[index],
        }
        try:
            with httpx.Client(base_url=server_url, headers=headers, timeout=60) as http:
                barrier.wait(timeout=60)
                answer = http.post("/api/v1/enrolments", json=body)
                answers[index] = (
                    answer.status_code,
                    answer.headers.get("content-type", ""),
                    answer.json(),
                )
        except BaseException as error:
            answers[index] = error

    threads = [threading.Thread(target=attempt, args=(i,), name=f"enrol-{i}") for i in range(CROWD)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive(), f"{thread.name} is stuck"

    failures = [a for a in answers if not isinstance(a, tuple)]
    assert failures == [], failures
    replies = [a for a in answers if isinstance(a, tuple)]
    statuses = Counter(status for status, _, _ in replies)
    assert statuses[201] == 1, statuses
    assert set(statuses) <= {201, 403, 409}, statuses  # never a 5xx
    losers = [(status, kind, body) for status, kind, body in replies if status != 201]
    for status, kind, body in losers:
        assert kind == "application/problem+json", (status, body)
        assert (status, body["code"]) in {(409, "already_enrolled"), (403, "consent_invalid")}
    [winner] = [body for status, _, body in replies if status == 201]
    assert winner["voucher_id"] == str(voucher_id)

    with ctx.unit_of_work() as uow:
        enrolments = list(uow.session.scalars(sa.select(Enrolment)))
        voucher = uow.vouchers.get(voucher_id)
        seats = uow.session.scalar(sa.select(Course.enrolled_count))
        events = [
            e for e in uow.audit.for_entity("voucher", voucher_id) if e.action == "voucher.enrolled"
        ]
    assert [(str(e.id), e.status) for e in enrolments] == [
        (winner["enrolment_id"], EnrolmentStatus.ACTIVE)
    ]
    assert voucher is not None
    assert (voucher.status, voucher.version) == (VoucherStatus.ENROLLED, 2)  # moved once
    assert seats == 1
    assert [e.actor for e in events] == [f"worker:{holder}"]
    assert ledger_problems(ctx) == []
    assert verify_audit_chain(ctx).intact  # fifty writers, one unbroken chain
