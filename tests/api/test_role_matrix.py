"""The role matrix: every role × every protected endpoint × rows of its own region and of another.

The world holds one Taiyuan voucher enrolled at a Taiyuan institution, with its settlement batch,
a fund transfer, an API key, a scheme and a person. Principals inside that world (its worker, its
institution, its city, its province, the nation) and outside it (a Datong worker, institution,
city administrator, auditor and employer, and Beijing's province administrator) call every
protected route. The rules:

- a principal lacking the route's permission answers 403, whether or not the row exists;
- an outsider that holds the permission answers 403 or 404, and exactly as it would for a row
  that does not exist (no leak of existence);
- nobody ever gets a 5xx, and an insider's 404 is also indistinguishable from a missing row;
- after all the outsiders' attempts, nothing in the world has changed.

The routes' permissions are read off the app, so a new protected route that is not in ``OPS``
fails ``test_every_protected_route_is_in_the_matrix``.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import httpx2 as httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from builders import (
    CITY,
    OTHER_CITY,
    Clock,
    credit_code,
    enrol,
    import_institution,
    import_people,
    issue,
    person,
    training_world,
)
from principals import api_key_headers, staff_headers, worker_headers
from skillvoucher.api.auth import PermissionCheck
from skillvoucher.application.api_keys import create_api_key
from skillvoucher.application.catalogue_views import institution_id_by_code
from skillvoucher.application.context import AppContext
from skillvoucher.application.disputes import open_dispute
from skillvoucher.application.settlement import run_settlement
from skillvoucher.application.sign_in import worker_principal
from skillvoucher.domain.access import ROLE_PERMISSIONS, Permission, Role
from skillvoucher.domain.disputes import DisputeSubject
from skillvoucher.domain.identity import mask_resident_id
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.timekeeping import local_date

MISSING_REGION = "149900"  # well formed, known to no one


@dataclass(frozen=True)
class Targets:
    voucher_id: str
    enrolment_id: str
    batch_id: str
    transfer_id: str
    key_id: str
    person_id: str
    scheme_code: str
    region_code: str
    institution_id: str
    course_id: str
    id_number: str
    employer: str
    today: str
    dispute_id: str

    def path_values(self) -> dict[str, str]:
        return {
            "voucher_id": self.voucher_id,
            "enrolment_id": self.enrolment_id,
            "batch_id": self.batch_id,
            "transfer_id": self.transfer_id,
            "key_id": self.key_id,
            "person_id": self.person_id,
            "scheme_code": self.scheme_code,
            "code": self.scheme_code,
            "region_code": self.region_code,
            "institution_id": self.institution_id,
            "dispute_id": self.dispute_id,
        }


Body = Callable[[Targets], dict[str, Any]]

HIDDEN = "hidden"  # outsiders: 403/404, answered exactly as for a missing row
REPORTED = "reported"  # outsiders: whatever the answer, the same as for a missing row
PUBLIC = "public"  # the target's existence is public (the catalogue): 403/404 only
OPEN = "open"  # anyone holding the permission may try (a worker claims any scheme)


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    body: Body | None = None
    outsider: str = HIDDEN
    files: bool = False
    keep: tuple[str, ...] = ()
    """Fields the missing-row variant keeps from the real one (what is not under test)."""


def _scheme_doc(t: Targets) -> dict[str, Any]:
    return {
        "code": f"MATRIX-{t.region_code}",
        "name": "矩阵测试",
        "region": t.region_code,
        "type": "individual",
        "issuance": "application",
        "quota": 1,
        "budget_fen": 100_000,
        "face_value": {"fixed_fen": 100_000},
        "validity": {"days": 30},
        "settlement": {"stages": [{"evidence": "completion", "percent": 100}]},
    }


def _attendance(t: Targets) -> dict[str, Any]:
    return {
        "enrolment_id": t.enrolment_id,
        "source": "face",
        "occurred_at": f"{t.today}T09:00:00+08:00",
        "minutes": 60,
    }


OPS: tuple[Op, ...] = (
    Op("GET", "/api/v1/api-keys"),
    Op(
        "POST",
        "/api/v1/api-keys",
        lambda t: {
            "name": "matrix",
            "role": "institution_staff",
            "scopes": ["attendance:record"],
            "institution_id": t.institution_id,
        },
        outsider=PUBLIC,
    ),
    Op("POST", "/api/v1/api-keys/{key_id}/revoke"),
    Op(
        "POST",
        "/api/v1/accounts",
        lambda t: {
            "username": "matrix-clerk",
            "password": "a long password 1",
            "role": "institution_staff",
            "institution_id": t.institution_id,
        },
        outsider=PUBLIC,
    ),
    Op("GET", "/api/v1/vouchers/mine"),
    Op("GET", "/api/v1/vouchers"),
    Op("GET", "/api/v1/vouchers/{voucher_id}"),
    Op("GET", "/api/v1/vouchers/{voucher_id}/qr"),
    Op("POST", "/api/v1/vouchers/{voucher_id}/revoke", lambda t: {"reason": "matrix"}),
    Op("POST", "/api/v1/vouchers/{voucher_id}/consent"),
    Op("POST", "/api/v1/schemes/{scheme_code}/claims", outsider=OPEN),
    Op("POST", "/api/v1/schemes/{scheme_code}/push"),
    Op(
        "POST",
        "/api/v1/schemes/{scheme_code}/enterprise-issuance",
        lambda t: {"enterprise_credit_code": t.employer, "resident_ids": [t.id_number]},
    ),
    Op(
        "POST",
        "/api/v1/enrolments",
        lambda t: {"voucher_id": t.voucher_id, "course_id": t.course_id, "consent_code": "123456"},
    ),
    Op("GET", "/api/v1/enrolments"),
    Op("POST", "/api/v1/enrolments/{enrolment_id}/cancel", lambda t: {"reason": "matrix"}),
    Op("POST", "/api/v1/attendance", _attendance),
    Op("POST", "/api/v1/attendance/bulk", lambda t: {"events": [_attendance(t)]}, REPORTED),
    Op("POST", "/api/v1/enrolments/{enrolment_id}/completion", lambda t: {}),
    Op("GET", "/api/v1/people"),
    Op("POST", "/api/v1/people/search", lambda t: {"id_number": t.id_number}),
    Op("GET", "/api/v1/people/{person_id}"),
    # The row under test is the person; the region is public knowledge.
    Op("POST", "/api/v1/people/import", outsider=REPORTED, files=True, keep=("region_code",)),
    Op("GET", "/api/v1/schemes"),
    Op("GET", "/api/v1/schemes/{code}"),
    Op("POST", "/api/v1/scheme-previews", _scheme_doc),
    Op("POST", "/api/v1/schemes", _scheme_doc),
    Op("POST", "/api/v1/schemes/{code}/launch"),
    Op("POST", "/api/v1/schemes/{code}/pause"),
    Op("POST", "/api/v1/schemes/{code}/close"),
    Op("POST", "/api/v1/schemes/{code}/allocations", lambda t: {"amount_fen": 1}),
    Op(
        "POST",
        "/api/v1/settlement/runs",
        lambda t: {
            "period_start": t.today,
            "period_end": t.today,
            "institution_id": t.institution_id,
        },
        outsider=PUBLIC,
    ),
    Op("GET", "/api/v1/settlement/batches"),
    Op("GET", "/api/v1/settlement/batches/{batch_id}"),
    Op("POST", "/api/v1/settlement/batches/{batch_id}/approve"),
    Op("POST", "/api/v1/settlement/batches/{batch_id}/publish"),
    Op("POST", "/api/v1/settlement/batches/{batch_id}/paid", lambda t: {"payment_reference": "M1"}),
    Op("POST", "/api/v1/settlement/payment-file", lambda t: {"batch_ids": [t.batch_id]}),
    Op("GET", "/api/v1/funds"),
    Op("GET", "/api/v1/funds/transfers"),
    Op(
        "POST",
        "/api/v1/funds/transfers",
        lambda t: {
            "from_region": t.region_code,
            "to_region": OTHER_CITY,
            "amount_fen": 1,
            "reason": "matrix",
        },
    ),
    Op("POST", "/api/v1/funds/transfers/{transfer_id}/approve"),
    Op("POST", "/api/v1/funds/transfers/{transfer_id}/reject", lambda t: {"reason": "matrix"}),
    Op("GET", "/api/v1/funds/{region_code}/ledger"),
    Op(
        "POST",
        "/api/v1/funds/{region_code}/deposits",
        lambda t: {"amount_fen": 1, "reference": "matrix"},
    ),
    Op("GET", "/api/v1/statistics"),
    Op("GET", "/api/v1/audit-events"),
    Op("GET", "/api/v1/risk-flags"),
    Op("POST", "/api/v1/institutions/{institution_id}/suspend", lambda t: {"reason": "matrix"}),
    Op("POST", "/api/v1/institutions/{institution_id}/reinstate"),
    Op(
        "POST",
        "/api/v1/disputes",
        lambda t: {"subject": "enrolment", "subject_id": t.enrolment_id, "reason": "matrix"},
    ),
    Op("GET", "/api/v1/disputes"),
    Op(
        "POST",
        "/api/v1/disputes/{dispute_id}/resolve",
        lambda t: {"outcome": "dismiss", "note": "matrix"},
    ),
)


def _routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            yield from _routes(nested.routes)
        elif hasattr(route, "dependant"):
            yield route


def _permissions_of(dependant: Any) -> Iterator[Permission]:
    for sub in dependant.dependencies:
        if isinstance(sub.call, PermissionCheck):
            yield sub.call.permission
        yield from _permissions_of(sub)


def route_permissions(app: FastAPI) -> dict[tuple[str, str], Permission]:
    """(method, path) → the permission the route asks for, read off the app itself."""
    found: dict[tuple[str, str], Permission] = {}
    for route in _routes(list(app.routes)):
        permissions = set(_permissions_of(route.dependant))
        if not permissions:
            continue
        assert len(permissions) == 1, (route.path, permissions)
        for method in route.methods:
            found[(method, route.path.replace(":uuid", ""))] = permissions.pop()
    return found


def test_every_protected_route_is_in_the_matrix(client: TestClient) -> None:
    assert isinstance(client.app, FastAPI)
    protected = set(route_permissions(client.app))
    listed = {(op.method, op.path) for op in OPS}
    assert protected - listed == set(), "protected routes missing from the matrix"
    assert listed - protected == set(), "matrix rows that are not protected routes"


@dataclass(frozen=True)
class Caller:
    name: str
    headers: dict[str, str]
    insider: bool


def _id_of_person(ctx: AppContext, id_number: str) -> str:
    with ctx.unit_of_work() as uow:
        found = uow.people.by_digest(ctx.digest(id_number))
        assert found is not None
        return str(found.id)


def build_world(ctx: AppContext, client: TestClient, clock: Clock) -> tuple[Targets, list[Caller]]:
    employer = credit_code(CITY, "enterprise")
    world = training_world(ctx, people=1)
    holder = world.people[0]
    voucher = issue(ctx, world.scheme.code, holder)
    receipt = enrol(ctx, voucher.voucher_id, world.institution)
    today = local_date(clock.now)
    run_settlement(ctx, today, today)
    dispute = open_dispute(
        ctx,
        worker_principal(_holder(ctx, voucher.voucher_id)),
        DisputeSubject.ENROLMENT,
        receipt.enrolment_id,
        "matrix",
    )
    institution_id = institution_id_by_code(ctx, world.institution)
    key = create_api_key(
        ctx,
        None,
        name="matrix target key",
        role=Role.INSTITUTION_STAFF,
        scopes=[Permission.ATTENDANCE_RECORD],
        institution_id=institution_id,
    )
    city_admin = staff_headers(ctx, Role.CITY_ADMIN, region_code=CITY)
    transfer = client.post(
        "/api/v1/funds/transfers",
        headers=city_admin,
        json={"from_region": CITY, "to_region": OTHER_CITY, "amount_fen": 100, "reason": "m"},
    )
    assert transfer.status_code == 201, transfer.json()
    batches = client.get("/api/v1/settlement/batches", headers=city_admin).json()["items"]
    assert len(batches) == 1, batches

    datong_worker, employee = person(region=OTHER_CITY), person(employer=employer)
    import_people(ctx, [datong_worker, employee])
    other_institution = institution_id_by_code(
        ctx, import_institution(ctx, region=OTHER_CITY, name="大同市职业培训学校")
    )
    own = Targets(
        voucher_id=str(voucher.voucher_id),
        enrolment_id=str(receipt.enrolment_id),
        batch_id=str(batches[0]["batch_id"]),
        transfer_id=str(transfer.json()["transfer_id"]),
        key_id=str(key.view.id),
        person_id=_id_of_person(ctx, holder.resident_id),
        scheme_code=world.scheme.code,
        region_code=CITY,
        institution_id=str(institution_id),
        course_id=_course_id(ctx, world.institution),
        id_number=holder.resident_id,
        employer=employer,
        today=today.isoformat(),
        dispute_id=str(dispute.dispute_id),
    )
    institution_scopes = sorted(ROLE_PERMISSIONS[Role.INSTITUTION_STAFF])
    callers = [
        Caller("worker", worker_headers(ctx, uuid.UUID(own.person_id)), True),
        Caller(
            "institution staff",
            staff_headers(
                ctx, Role.INSTITUTION_STAFF, region_code=None, institution_id=institution_id
            ),
            True,
        ),
        Caller(
            "institution key",
            api_key_headers(
                ctx,
                Role.INSTITUTION_STAFF,
                institution_scopes,
                region_code=None,
                institution_id=institution_id,
            ),
            True,
        ),
        Caller(
            "enterprise HR",
            staff_headers(ctx, Role.ENTERPRISE_HR, employer_credit_code=employer),
            True,
        ),
        Caller("city admin", city_admin, True),
        Caller(
            "province admin", staff_headers(ctx, Role.PROVINCE_ADMIN, region_code="140000"), True
        ),
        Caller(
            "national statistician",
            staff_headers(ctx, Role.NATIONAL_STATISTICIAN, region_code=None),
            True,
        ),
        Caller("auditor", staff_headers(ctx, Role.AUDITOR, region_code="140000"), True),
        Caller(
            "Datong worker",
            worker_headers(ctx, uuid.UUID(_id_of_person(ctx, datong_worker.resident_id))),
            False,
        ),
        Caller(
            "Datong institution staff",
            staff_headers(
                ctx, Role.INSTITUTION_STAFF, region_code=None, institution_id=other_institution
            ),
            False,
        ),
        Caller(
            "Datong city admin", staff_headers(ctx, Role.CITY_ADMIN, region_code=OTHER_CITY), False
        ),
        Caller("Datong auditor", staff_headers(ctx, Role.AUDITOR, region_code=OTHER_CITY), False),
        Caller(
            "Datong enterprise HR",
            staff_headers(
                ctx,
                Role.ENTERPRISE_HR,
                region_code=OTHER_CITY,
                employer_credit_code=credit_code(OTHER_CITY, "enterprise"),
            ),
            False,
        ),
        Caller(
            "Beijing province admin",
            staff_headers(ctx, Role.PROVINCE_ADMIN, region_code="110000"),
            False,
        ),
    ]
    return own, callers


def _holder(ctx: AppContext, voucher_id: uuid.UUID) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(voucher_id)
        assert voucher is not None
        return voucher.person_id


def _course_id(ctx: AppContext, institution_code: str) -> str:
    with ctx.unit_of_work() as uow:
        course = uow.catalogue.course_by_code(institution_id_by_code(ctx, institution_code), "C1")
        assert course is not None
        return str(course.id)


def missing_like(own: Targets) -> Targets:
    """The same request about rows that do not exist."""
    return replace(
        own,
        voucher_id=str(new_id()),
        enrolment_id=str(new_id()),
        batch_id=str(new_id()),
        transfer_id=str(new_id()),
        key_id=str(new_id()),
        person_id=str(new_id()),
        scheme_code="NO-SUCH-SCHEME",
        region_code=MISSING_REGION,
        institution_id=str(new_id()),
        course_id=str(new_id()),
        id_number="11010519491231002X",
        dispute_id=str(new_id()),
    )


def call(client: TestClient, op: Op, caller: Caller, targets: Targets) -> httpx.Response:
    url = op.path.format(**targets.path_values())
    if op.files:
        content = (
            f"resident_id,name,household_region\n{targets.id_number},矩阵,{targets.region_code}\n"
        )
        files = {"file": ("people.csv", content.encode(), "text/csv")}
        return client.request(op.method, url, headers=caller.headers, files=files)
    body = op.body(targets) if op.body is not None else None
    return client.request(op.method, url, headers=caller.headers, json=body)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def normalised(answer: httpx.Response, *values: str) -> tuple[int, str]:
    """The answer with the ids and codes it was asked about blanked out."""
    text = answer.text
    for value in sorted(values, key=len, reverse=True):  # a code inside a longer one: longest first
        text = text.replace(value, "<asked>")
    return answer.status_code, _UUID.sub("<id>", text)


def _asked(t: Targets) -> tuple[str, ...]:
    return (t.scheme_code, t.region_code, t.id_number, mask_resident_id(t.id_number), t.today)


def check_cell(
    client: TestClient,
    op: Op,
    caller: Caller,
    needed: Permission,
    held: set[str],
    own: Targets,
    missing: Targets,
    seen: Counter[str],
) -> str | None:
    """What is wrong with this cell, or None."""
    if (not caller.insider and op.outsider == OPEN) or (caller.insider and op.method != "GET"):
        if needed.value in held and not caller.insider:
            answer = call(client, op, caller, own)
            if answer.status_code >= 500 or answer.status_code == 401:
                return f"answered {answer.status_code}"
        return None  # an insider's changes are the endpoint tests' business
    answer = call(client, op, caller, own)
    if answer.status_code >= 500:
        return f"answered {answer.status_code}: {answer.text[:200]}"
    if needed.value not in held:
        if answer.status_code != 403:
            return f"lacks {needed.value} but answered {answer.status_code}"
        unknown = call(client, op, caller, missing)
        if unknown.status_code != 403:
            return f"lacks {needed.value}; a missing row answered {unknown.status_code}"
        seen["403 for lacking the permission"] += 1
        return None
    if caller.insider:  # reading its own world: any 404 must look like a missing row's
        if answer.status_code in (401, 403):
            return f"insider answered {answer.status_code}: {answer.text[:200]}"
        if answer.status_code == 404:
            unknown = call(client, op, caller, missing)
            if normalised(answer, *_asked(own)) != normalised(unknown, *_asked(missing)):
                return f"insider 404 differs from a missing row's: {answer.text} / {unknown.text}"
        return None
    if op.method == "GET" and "{" not in op.path:  # a list: nothing of the other world in it
        if answer.status_code != 200:
            return f"list answered {answer.status_code}"
        leaked = [
            v
            for v in (own.voucher_id, own.enrolment_id, own.batch_id, own.person_id)
            if v in answer.text
        ]
        leaked += (
            [own.transfer_id]
            if own.transfer_id in answer.text and "Datong" not in caller.name
            else []
        )
        seen["lists without the other region's rows"] += 1
        return f"list shows {leaked}" if leaked else None
    if op.outsider in (HIDDEN, PUBLIC) and answer.status_code not in (403, 404):
        return f"outsider answered {answer.status_code}: {answer.text[:200]}"
    if op.outsider in (HIDDEN, REPORTED):
        variant = replace(missing, **{f: getattr(own, f) for f in op.keep})
        unknown = call(client, op, caller, variant)
        if normalised(answer, *_asked(own)) != normalised(unknown, *_asked(variant)):
            return f"differs from a missing row's: {answer.text[:300]} / {unknown.text[:300]}"
    seen[f"outsider {answer.status_code} like a missing row"] += 1
    return None


def test_every_forbidden_cell_is_403_or_a_404_like_a_missing_row(
    client: TestClient, ctx: AppContext, clock: Clock
) -> None:
    clock.advance(timedelta(days=1))
    own, callers = build_world(ctx, client, clock)
    missing = missing_like(own)
    assert isinstance(client.app, FastAPI)
    needs = route_permissions(client.app)
    observer = staff_headers(ctx, Role.PROVINCE_ADMIN, region_code="140000")
    before = _state(client, own, observer)

    problems: list[str] = []
    seen: Counter[str] = Counter()
    cells = 0
    for caller in callers:
        held = set(client.get("/api/v1/auth/me", headers=caller.headers).json()["permissions"])
        for op in OPS:
            cells += 1
            needed = needs[(op.method, op.path)]
            wrong = check_cell(client, op, caller, needed, held, own, missing, seen)
            if wrong:
                problems.append(f"{caller.name} × {op.method} {op.path}: {wrong}")
    assert problems == [], "\n".join(problems)
    assert cells == len(callers) * len(OPS)
    print(f"{cells} cells: {dict(seen)}")  # shown with pytest -s
    # The matrix really exercised each kind of refusal (not a vacuous pass).
    assert seen["403 for lacking the permission"] > 200, seen
    assert seen["outsider 404 like a missing row"] > 40, seen
    assert seen["lists without the other region's rows"] > 20, seen
    assert _state(client, own, observer) == before, "an outsider's attempt changed the world"


def _state(client: TestClient, own: Targets, headers: dict[str, str]) -> dict[str, Any]:
    """What outsiders must not be able to change, as the province administrator sees it."""
    voucher = client.get(f"/api/v1/vouchers/{own.voucher_id}", headers=headers).json()
    batch = client.get(f"/api/v1/settlement/batches/{own.batch_id}", headers=headers).json()
    transfers = client.get("/api/v1/funds/transfers", headers=headers).json()["items"]
    scheme = client.get(f"/api/v1/schemes/{own.scheme_code}", headers=headers).json()
    funds = client.get("/api/v1/funds", headers=headers).json()
    keys = client.get("/api/v1/api-keys", headers=headers).json()["items"]
    return {
        "voucher": voucher["status"],
        "batch": batch["summary"]["status"],
        "transfers": [(t["transfer_id"], t["status"]) for t in transfers],
        "scheme": scheme["status"],
        "funds": funds,
        "keys": [(k["id"], k["revoked_at"]) for k in keys],
    }
