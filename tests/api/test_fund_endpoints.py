"""Fund accounts through HTTP: balances and ledgers within the caller's scope, deposits by
province administrators, and transfers between regions that move money on a second approval
by a third person."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from builders import CITY, OTHER_CITY, credit_code, deposit
from principals import PASSWORD, bearer, staff_account, staff_headers
from skillvoucher.application.context import AppContext
from skillvoucher.application.fund_transfers import approve_transfer
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.application.sign_in import sign_in_staff
from skillvoucher.domain.access import ROLE_PERMISSIONS, Principal, PrincipalKind, Role, Scope
from skillvoucher.domain.errors import DomainError, IllegalTransition
from skillvoucher.domain.ledger import Account, TransferStatus

PROVINCE = "140000"
OTHER_PROVINCE_CITY = "150100"  # 呼和浩特市
PROBLEM_JSON = "application/problem+json"


def signed_in(
    ctx: AppContext, role: Role = Role.CITY_ADMIN, region: str | None = CITY
) -> tuple[str, dict[str, str]]:
    """(audit label, bearer headers) of a new staff member."""
    username = staff_account(ctx, role, region_code=region)
    return f"staff:{username}", bearer(sign_in_staff(ctx, username, PASSWORD).token)


def balances(client: TestClient, headers: dict[str, str]) -> dict[str, dict[str, int]]:
    answer = client.get("/api/v1/funds", headers=headers)
    assert answer.status_code == 200, answer.json()
    return {item["region_code"]: item["balances"] for item in answer.json()["items"]}


def assert_not_found(answer: Any) -> None:
    assert answer.status_code == 404, answer.json()
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["code"] == "not_found"


def audit_trail(ctx: AppContext, transfer_id: str) -> list[tuple[str, str, str]]:
    with ctx.unit_of_work() as uow:
        return [
            (e.action, e.actor, e.region_code)
            for e in uow.audit.for_entity("fund_transfer", transfer_id)
        ]


# --- Balances, ledger, deposits ----------------------------------------------------------------


def test_balances_and_ledgers_are_those_within_the_scope(
    client: TestClient, ctx: AppContext
) -> None:
    deposit(ctx, 500_000, region=CITY)
    deposit(ctx, 300_000, region=OTHER_CITY)
    _, taiyuan = signed_in(ctx, region=CITY)
    _, datong = signed_in(ctx, region=OTHER_CITY)
    _, nation = signed_in(ctx, Role.NATIONAL_STATISTICIAN, region=None)

    mine = balances(client, taiyuan)
    assert list(mine) == [CITY]
    assert mine[CITY]["fund_available"] == 500_000
    assert mine[CITY]["treasury"] == -500_000
    assert set(balances(client, nation)) == {CITY, OTHER_CITY}

    ledger = client.get(f"/api/v1/funds/{CITY}/ledger", headers=taiyuan)
    assert ledger.status_code == 200, ledger.json()
    entries = ledger.json()["items"]
    assert sorted((e["kind"], e["account"], e["amount_fen"]) for e in entries) == [
        ("deposit", "fund_available", 500_000),
        ("deposit", "treasury", -500_000),
    ]
    assert ledger.json()["next_cursor"] is None
    # Another city's ledger answers exactly like one that does not exist.
    other = client.get(f"/api/v1/funds/{CITY}/ledger", headers=datong)
    missing = client.get(f"/api/v1/funds/{OTHER_PROVINCE_CITY}/ledger", headers=datong)
    assert_not_found(other)
    assert_not_found(missing)
    assert other.json()["detail"].replace(CITY, "X") == missing.json()["detail"].replace(
        OTHER_PROVINCE_CITY, "X"
    )


def test_the_ledger_pages_newest_first(client: TestClient, ctx: AppContext) -> None:
    for amount in (1_000, 2_000, 3_000):
        deposit(ctx, amount, region=CITY)
    _, headers = signed_in(ctx)
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get(f"/api/v1/funds/{CITY}/ledger", headers=headers, params=params).json()
        seen += [e["amount_fen"] for e in page["items"] if e["account"] == "fund_available"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [3_000, 2_000, 1_000]
    bad = client.get(f"/api/v1/funds/{CITY}/ledger", headers=headers, params={"cursor": "nope"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_input")


def test_only_a_province_administrator_deposits_and_only_within_the_province(
    client: TestClient, ctx: AppContext
) -> None:
    treasurer, province = signed_in(ctx, Role.PROVINCE_ADMIN, region=PROVINCE)
    _, city = signed_in(ctx)
    body = {"amount_fen": 2_500_000, "reference": "晋财社〔2026〕12号"}

    refused = client.post(f"/api/v1/funds/{CITY}/deposits", headers=city, json=body)
    assert (refused.status_code, refused.json()["code"]) == (403, "access_denied")

    made = client.post(f"/api/v1/funds/{CITY}/deposits", headers=province, json=body)
    assert made.status_code == 201, made.json()
    assert made.json()["region_code"] == CITY
    assert made.json()["balances"]["fund_available"] == 2_500_000
    with ctx.unit_of_work() as uow:
        [event] = uow.audit.for_entity("fund_account", CITY)
    assert (event.action, event.actor, event.payload["amount_fen"]) == (
        "fund.deposited",
        treasurer,
        2_500_000,
    )

    elsewhere = client.post(
        f"/api/v1/funds/{OTHER_PROVINCE_CITY}/deposits", headers=province, json=body
    )
    assert_not_found(elsewhere)
    assert ledger_problems(ctx) == []


@pytest.mark.parametrize(
    "body",
    [
        {"amount_fen": 0, "reference": "r"},
        {"amount_fen": -5, "reference": "r"},
        {"amount_fen": "lots", "reference": "r"},
        {"amount_fen": 10**15, "reference": "r"},
        {"amount_fen": 100, "reference": ""},
        {"amount_fen": 100, "reference": "r", "extra": True},
        {"amount_fen": 100},
    ],
)
def test_bad_deposits_are_problems(
    client: TestClient, ctx: AppContext, body: dict[str, Any]
) -> None:
    _, province = signed_in(ctx, Role.PROVINCE_ADMIN, region=PROVINCE)
    answer = client.post(f"/api/v1/funds/{CITY}/deposits", headers=province, json=body)
    assert answer.status_code == 422, answer.json()
    assert answer.json()["code"] == "request_invalid"
    bad_region = client.post(
        "/api/v1/funds/14x100/deposits", headers=province, json={"amount_fen": 1, "reference": "r"}
    )
    assert bad_region.status_code == 422


# --- Transfers -----------------------------------------------------------------------------------


def request_transfer(
    client: TestClient, headers: dict[str, str], amount: int, to: str = OTHER_CITY
) -> dict[str, Any]:
    answer = client.post(
        "/api/v1/funds/transfers",
        headers=headers,
        json={"from_region": CITY, "to_region": to, "amount_fen": amount, "reason": "调剂"},
    )
    assert answer.status_code == 201, answer.json()
    body: dict[str, Any] = answer.json()
    return body


def approve(client: TestClient, headers: dict[str, str], transfer_id: str) -> Any:
    return client.post(f"/api/v1/funds/transfers/{transfer_id}/approve", headers=headers)


def test_a_transfer_moves_on_the_second_approval_of_a_third_person(
    client: TestClient, ctx: AppContext
) -> None:
    deposit(ctx, 1_000_000, region=CITY)
    requester, asks = signed_in(ctx)
    first, first_headers = signed_in(ctx)
    second, second_headers = signed_in(ctx, Role.PROVINCE_ADMIN, region=PROVINCE)
    _, nation = signed_in(ctx, Role.NATIONAL_STATISTICIAN, region=None)

    transfer = request_transfer(client, asks, 300_000)
    tid = transfer["transfer_id"]
    assert (transfer["status"], transfer["requested_by"]) == ("requested", requester)

    own = approve(client, asks, tid)
    assert (own.status_code, own.json()["code"]) == (403, "approver_not_independent")

    once = approve(client, first_headers, tid)
    assert once.status_code == 200, once.json()
    assert (once.json()["status"], once.json()["first_approver"]) == ("approved_once", first)
    before = balances(client, nation)
    assert (list(before), before[CITY]["fund_available"]) == ([CITY], 1_000_000)

    twice = approve(client, first_headers, tid)
    assert (twice.status_code, twice.json()["code"]) == (403, "approver_not_independent")
    assert approve(client, asks, tid).json()["code"] == "approver_not_independent"

    done = approve(client, second_headers, tid)
    assert done.status_code == 200, done.json()
    assert (done.json()["status"], done.json()["second_approver"]) == ("executed", second)
    assert done.json()["decided_at"] is not None

    after = balances(client, nation)
    assert after[CITY]["fund_available"] == 700_000
    assert after[OTHER_CITY]["fund_available"] == 300_000  # the account was opened for it
    assert sum(b["treasury"] for b in after.values()) == -1_000_000  # no money made or lost
    assert ledger_problems(ctx) == []

    again = approve(client, nation, tid)
    assert again.status_code == 403  # a statistician holds no approval permission
    late = approve(client, signed_in(ctx)[1], tid)
    assert (late.status_code, late.json()["code"]) == (409, "illegal_transition")
    assert audit_trail(ctx, tid) == [
        ("fund.transfer_requested", requester, CITY),
        ("fund.transfer_approved", first, CITY),
        ("fund.transfer_executed", second, CITY),
        ("fund.transfer_received", second, OTHER_CITY),
    ]


def test_insufficient_funds_answer_409_and_nothing_moves(
    client: TestClient, ctx: AppContext
) -> None:
    deposit(ctx, 100_000, region=CITY)
    _, asks = signed_in(ctx)
    _, first = signed_in(ctx)
    _, second = signed_in(ctx)
    tid = request_transfer(client, asks, 500_000)["transfer_id"]
    assert approve(client, first, tid).status_code == 200

    refused = approve(client, second, tid)
    assert refused.status_code == 409, refused.json()
    assert refused.headers["content-type"] == PROBLEM_JSON
    assert refused.json()["code"] == "insufficient_funds"

    listed = client.get("/api/v1/funds/transfers", headers=asks).json()["items"]
    assert [(t["transfer_id"], t["status"], t["second_approver"]) for t in listed] == [
        (tid, "approved_once", None)
    ]
    assert balances(client, asks)[CITY]["fund_available"] == 100_000
    _, nation = signed_in(ctx, Role.NATIONAL_STATISTICIAN, region=None)
    assert set(balances(client, nation)) == {CITY}  # not even the receiving account opened
    assert [a for a, _, _ in audit_trail(ctx, tid)] == [
        "fund.transfer_requested",
        "fund.transfer_approved",
    ]
    assert ledger_problems(ctx) == []


def test_another_city_finds_nothing_of_ours(client: TestClient, ctx: AppContext) -> None:
    deposit(ctx, 1_000_000, region=CITY)
    deposit(ctx, 1_000_000, region=OTHER_CITY)
    _, asks = signed_in(ctx)
    _, datong = signed_in(ctx, region=OTHER_CITY)
    tid = request_transfer(client, asks, 10_000, to=PROVINCE)["transfer_id"]

    assert_not_found(approve(client, datong, tid))
    assert_not_found(approve(client, datong, str(uuid.uuid4())))
    assert_not_found(
        client.post(f"/api/v1/funds/transfers/{tid}/reject", headers=datong, json={"reason": "no"})
    )
    assert client.get("/api/v1/funds/transfers", headers=datong).json()["items"] == []
    stolen = client.post(
        "/api/v1/funds/transfers",
        headers=datong,
        json={"from_region": CITY, "to_region": OTHER_CITY, "amount_fen": 5, "reason": "x"},
    )
    assert_not_found(stolen)


def test_the_receiving_city_sees_the_transfer_but_cannot_decide_it(
    client: TestClient, ctx: AppContext
) -> None:
    deposit(ctx, 1_000_000, region=CITY)
    _, asks = signed_in(ctx)
    _, datong = signed_in(ctx, region=OTHER_CITY)
    tid = request_transfer(client, asks, 10_000)["transfer_id"]
    seen = client.get("/api/v1/funds/transfers", headers=datong).json()["items"]
    assert [t["transfer_id"] for t in seen] == [tid]
    assert_not_found(approve(client, datong, tid))


def test_a_rejected_transfer_never_moves(client: TestClient, ctx: AppContext) -> None:
    deposit(ctx, 1_000_000, region=CITY)
    _, asks = signed_in(ctx)
    rejecter, rejects = signed_in(ctx)
    _, other = signed_in(ctx)
    tid = request_transfer(client, asks, 10_000)["transfer_id"]
    answer = client.post(
        f"/api/v1/funds/transfers/{tid}/reject", headers=rejects, json={"reason": "预算已调整"}
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json()["status"] == "rejected"
    late = approve(client, other, tid)
    assert (late.status_code, late.json()["code"]) == (409, "illegal_transition")
    rejected = client.get(
        "/api/v1/funds/transfers", headers=asks, params={"status": "rejected"}
    ).json()["items"]
    assert [t["transfer_id"] for t in rejected] == [tid]
    assert (
        client.get("/api/v1/funds/transfers", headers=asks, params={"status": "requested"}).json()[
            "items"
        ]
        == []
    )
    assert ("fund.transfer_rejected", rejecter, CITY) in audit_trail(ctx, tid)
    assert balances(client, asks)[CITY]["fund_available"] == 1_000_000


@pytest.mark.parametrize(
    "body",
    [
        {"from_region": CITY, "to_region": CITY, "amount_fen": 5, "reason": "x"},
        {"from_region": CITY, "to_region": OTHER_CITY, "amount_fen": 0, "reason": "x"},
        {"from_region": CITY, "to_region": "1402", "amount_fen": 5, "reason": "x"},
        {"from_region": CITY, "to_region": OTHER_CITY, "amount_fen": 5, "reason": ""},
        {"from_region": CITY, "to_region": OTHER_CITY, "amount_fen": 5, "reason": "x" * 201},
        {"from_region": CITY, "to_region": OTHER_CITY, "amount_fen": 5},
        {"from_region": CITY, "to_region": OTHER_CITY, "amount_fen": 5, "reason": "x", "y": 1},
    ],
)
def test_bad_transfer_requests_are_problems(
    client: TestClient, ctx: AppContext, body: dict[str, Any]
) -> None:
    deposit(ctx, 1_000, region=CITY)
    _, asks = signed_in(ctx)
    answer = client.post("/api/v1/funds/transfers", headers=asks, json=body)
    assert answer.status_code == 422, answer.json()
    assert answer.headers["content-type"] == PROBLEM_JSON


def test_transfers_need_their_permissions(client: TestClient, ctx: AppContext) -> None:
    deposit(ctx, 1_000, region=CITY)
    _, auditor = signed_in(ctx, Role.AUDITOR)
    body = {"from_region": CITY, "to_region": OTHER_CITY, "amount_fen": 5, "reason": "x"}
    answer = client.post("/api/v1/funds/transfers", headers=auditor, json=body)
    assert (answer.status_code, answer.json()["code"]) == (403, "access_denied")
    assert client.get("/api/v1/funds/transfers", headers=auditor).status_code == 200
    anonymous = client.post("/api/v1/funds/transfers", json=body)
    assert anonymous.status_code == 401
    hr = staff_headers(
        ctx, Role.ENTERPRISE_HR, employer_credit_code=credit_code(CITY, kind="enterprise")
    )
    assert client.get("/api/v1/funds", headers=hr).status_code == 403


# --- Racing approvers -------------------------------------------------------------------------


def approver(number: int) -> Principal:
    return Principal(
        kind=PrincipalKind.STAFF,
        subject_id=uuid.uuid4(),
        role=Role.CITY_ADMIN,
        permissions=ROLE_PERMISSIONS[Role.CITY_ADMIN],
        scope=Scope.of_region(CITY),
        label=f"staff:racer-{number}",
    )


def race(ctx: AppContext, transfer_id: uuid.UUID, racers: list[Principal]) -> list[object]:
    """Every racer approves at once; each outcome is a status or the error raised."""
    start = threading.Barrier(len(racers))
    outcomes: list[object] = [None] * len(racers)

    def run(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = approve_transfer(ctx, racers[index], transfer_id).status
        except DomainError as error:
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(racers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def fund_available(ctx: AppContext, region: str) -> int:
    with ctx.unit_of_work() as uow:
        return uow.ledger.balances(region)[Account.FUND_AVAILABLE]


def test_racing_second_approvers_execute_a_transfer_once(
    client: TestClient, ctx: AppContext
) -> None:
    deposit(ctx, 1_000_000, region=CITY)
    _, asks = signed_in(ctx)
    _, first = signed_in(ctx)
    tid = request_transfer(client, asks, 400_000)["transfer_id"]
    assert approve(client, first, tid).json()["status"] == "approved_once"

    outcomes = race(ctx, uuid.UUID(tid), [approver(i) for i in range(8)])

    assert outcomes.count(TransferStatus.EXECUTED) == 1, outcomes
    losers = [o for o in outcomes if o is not TransferStatus.EXECUTED]
    assert all(isinstance(o, IllegalTransition) for o in losers), losers
    assert (fund_available(ctx, CITY), fund_available(ctx, OTHER_CITY)) == (600_000, 400_000)
    assert ledger_problems(ctx) == []


def test_racing_approvers_of_a_new_transfer_approve_it_once_and_execute_it_at_most_once(
    client: TestClient, ctx: AppContext
) -> None:
    deposit(ctx, 1_000_000, region=CITY)
    _, asks = signed_in(ctx)
    tid = request_transfer(client, asks, 400_000)["transfer_id"]

    outcomes = race(ctx, uuid.UUID(tid), [approver(i) for i in range(8)])

    # One racer approves first; one who read it after that may execute it as the second
    # approver; everyone else finds it changed.
    assert outcomes.count(TransferStatus.APPROVED_ONCE) == 1, outcomes
    executed = outcomes.count(TransferStatus.EXECUTED)
    assert executed <= 1, outcomes
    assert all(isinstance(o, (str, IllegalTransition)) for o in outcomes), outcomes
    assert fund_available(ctx, CITY) == 1_000_000 - 400_000 * executed
    assert ledger_problems(ctx) == []
