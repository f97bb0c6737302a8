"""The dispute pages: a worker disputes a record from their training page; an administrator
resolves it on /admin/disputes, and objects to a batch on public notice."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
from fastapi.testclient import TestClient

from builders import OTHER_CITY, Clock, enrol, issue, training_world
from pages import ENGLISH, sign_in_staff_page, sign_in_worker_page, text_of
from skillvoucher.application import settlement, settlement_batches
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Role
from skillvoucher.domain.errors import DisputeOpen

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def _holder(ctx: AppContext, voucher_id: uuid.UUID) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        assert voucher is not None
        return voucher.person_id


def test_a_worker_disputes_and_an_administrator_dismisses(
    client: TestClient, ctx: AppContext
) -> None:
    world = training_world(ctx, people=1)
    voucher_id = issue(ctx, world.scheme.code, world.people[0]).voucher_id
    receipt = enrol(ctx, voucher_id, world.institution)
    token = sign_in_worker_page(client, ctx, _holder(ctx, voucher_id))
    url = f"/worker/training/{receipt.enrolment_id}/dispute"

    page = client.get("/worker/training")
    assert "提出异议" in page.text  # Chinese by default
    empty = client.post(url, data={"csrf_token": token, "subject": "enrolment", "reason": ""})
    assert empty.status_code == 422
    assert 'aria-invalid="true"' in empty.text
    early = client.post(
        url,
        data={"csrf_token": token, "subject": "completion", "reason": "没结业"},
        headers=ENGLISH,
    )
    assert early.status_code == 409
    assert "no completion has been recorded" in early.text
    sent = client.post(
        url,
        data={"csrf_token": token, "subject": "enrolment", "reason": "我没有报名这个课程"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    shown = text_of(client.get(sent.headers["location"], headers=ENGLISH).text)
    assert "Your dispute was sent" in shown
    assert "The enrolment itself: Dispute open: settlement waits" in shown
    assert client.post(url, data={"subject": "enrolment", "reason": "x"}).status_code == 403
    other = f"/worker/training/{uuid.uuid4()}/dispute"
    missing = client.post(other, data={"csrf_token": token, "subject": "enrolment", "reason": "x"})
    assert missing.status_code == 404

    client.cookies.clear()
    admin_token = sign_in_staff_page(client, ctx, Role.CITY_ADMIN)
    console = client.get("/admin/disputes", headers=ENGLISH)
    assert console.status_code == 200
    assert "我没有报名这个课程" in console.text
    assert 'href="/admin/disputes"' in console.text  # the console's nav links to it
    [dispute_id] = re.findall(r'action="/admin/disputes/([0-9a-f-]{36})/resolve"', console.text)
    resolve_url = f"/admin/disputes/{dispute_id}/resolve"
    bad = client.post(resolve_url, data={"csrf_token": admin_token, "outcome": "dismiss"})
    assert bad.status_code == 422
    done = client.post(
        resolve_url,
        data={"csrf_token": admin_token, "outcome": "dismiss", "note": "核实无误"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    after = text_of(client.get("/admin/disputes?status=", headers=ENGLISH).text)
    assert "The dispute is resolved." not in after  # only after the redirect with done=
    assert "Dismissed" in after
    assert "核实无误" in after

    client.cookies.clear()
    sign_in_staff_page(client, ctx, Role.CITY_ADMIN, region_code=OTHER_CITY)
    assert "我没有报名这个课程" not in client.get("/admin/disputes?status=").text
    assert client.post(resolve_url, data={"csrf_token": "x"}).status_code == 403


def test_an_administrator_objects_to_a_batch_on_notice(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx, people=1)
    voucher_id = issue(ctx, world.scheme.code, world.people[0]).voucher_id
    enrol(ctx, voucher_id, world.institution)
    [batch] = settlement.run_settlement(ctx, *MARCH).created
    settlement_batches.approve_batch(ctx, batch.batch_id, "staff:approver")
    published = settlement_batches.publish_batch(ctx, batch.batch_id)
    token = sign_in_staff_page(client, ctx, Role.CITY_ADMIN)

    page = client.get("/admin/disputes", headers=ENGLISH)
    assert str(batch.batch_id) in page.text
    empty = client.post(
        "/admin/disputes/objections",
        data={"csrf_token": token, "batch_id": str(batch.batch_id), "reason": ""},
    )
    assert empty.status_code == 422
    done = client.post(
        "/admin/disputes/objections",
        data={"csrf_token": token, "batch_id": str(batch.batch_id), "reason": "学员举报未上课"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert published.notice_until is not None
    clock.set(published.notice_until)
    with pytest.raises(DisputeOpen):
        settlement_batches.mark_batch_paid(ctx, batch.batch_id, "PAY-1")
