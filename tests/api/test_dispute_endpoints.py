"""The disputes API: a holder disputes, an administrator lists and resolves; an open dispute
answers 409 ``dispute_open`` where money would move."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from builders import Clock, enrol, issue, training_world
from principals import staff_headers, worker_headers
from skillvoucher.application import settlement
from skillvoucher.application.context import AppContext
from skillvoucher.domain.access import Role

MARCH = (date(2026, 3, 1), date(2026, 3, 31))


def test_a_holder_disputes_and_an_administrator_resolves(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    world = training_world(ctx, people=1)
    voucher_id = issue(ctx, world.scheme.code, world.people[0]).voucher_id
    receipt = enrol(ctx, voucher_id, world.institution)
    [batch] = settlement.run_settlement(ctx, *MARCH).created  # the enrolment stage
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        assert voucher is not None
    worker = worker_headers(ctx, voucher.person_id)
    admin = staff_headers(ctx, Role.CITY_ADMIN)
    body = {"subject": "enrolment", "subject_id": str(receipt.enrolment_id), "reason": "不是我报的"}

    opened = client.post("/api/v1/disputes", headers=worker, json=body)
    assert opened.status_code == 201, opened.text
    dispute = opened.json()
    assert (dispute["status"], dispute["by_holder"]) == ("open", True)
    assert client.get("/api/v1/disputes", headers=worker).status_code == 403

    approve = client.post(f"/api/v1/settlement/batches/{batch.batch_id}/approve", headers=admin)
    assert approve.status_code == 409
    assert approve.json()["code"] == "dispute_open"

    listed = client.get("/api/v1/disputes", headers=admin, params={"status": "open"})
    assert [d["dispute_id"] for d in listed.json()["items"]] == [dispute["dispute_id"]]
    bad = client.post(
        f"/api/v1/disputes/{dispute['dispute_id']}/resolve",
        headers=admin,
        json={"outcome": "forgive", "note": "x"},
    )
    assert bad.status_code == 422
    resolved = client.post(
        f"/api/v1/disputes/{dispute['dispute_id']}/resolve",
        headers=admin,
        json={"outcome": "dismiss", "note": "the consent code was hers"},
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "dismissed"
    again = client.post(
        f"/api/v1/disputes/{dispute['dispute_id']}/resolve",
        headers=admin,
        json={"outcome": "uphold", "note": "changed my mind"},
    )
    assert again.status_code == 409
    approve = client.post(f"/api/v1/settlement/batches/{batch.batch_id}/approve", headers=admin)
    assert approve.status_code == 200, approve.text
