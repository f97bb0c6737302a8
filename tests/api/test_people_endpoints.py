"""The people registry through HTTP: region scoping, masking, search by body, scoped import."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import openpyxl
import pytest
from fastapi.testclient import TestClient
from httpx2 import Response

from builders import (
    CITY,
    OTHER_CITY,
    PEOPLE_HEADER,
    import_institution,
    import_people,
    issue,
    people_row,
    person,
    training_world,
)
from principals import PASSWORD, bearer, staff_account, staff_headers, worker_headers
from skillvoucher.api.routers import people as people_router
from skillvoucher.application.context import AppContext
from skillvoucher.application.sign_in import sign_in_staff
from skillvoucher.demo.synthetic import SyntheticPerson
from skillvoucher.domain.access import Role
from skillvoucher.domain.identity import mask_mobile, mask_resident_id
from skillvoucher.domain.people import CardStatus, TargetGroup

PROVINCE = "140000"
IMPORT_ACTION = "registry.people_imported"


@dataclass(frozen=True)
class Registry:
    here: list[SyntheticPerson]  # in CITY
    there: list[SyntheticPerson]  # in OTHER_CITY

    @property
    def everyone(self) -> list[SyntheticPerson]:
        return [*self.here, *self.there]


@pytest.fixture
def registry(ctx: AppContext) -> Registry:
    here = [
        person(name="太原甲", groups=[TargetGroup.UNEMPLOYED]),
        person(name="太原乙", groups=[TargetGroup.RETIRED_SOLDIER], card_status=CardStatus.NONE),
    ]
    there = [person(name="大同甲", region=OTHER_CITY)]
    import_people(ctx, [*here, *there])
    return Registry(here, there)


def admin(ctx: AppContext, region: str = CITY) -> dict[str, str]:
    role = Role.PROVINCE_ADMIN if region.endswith("0000") else Role.CITY_ADMIN
    return staff_headers(ctx, role, region_code=region)


def assert_no_full_numbers(answer: Response, people: Iterable[SyntheticPerson]) -> None:
    """Neither ID numbers nor mobile numbers ever appear in clear in an answer."""
    for p in people:
        assert p.resident_id not in answer.text
        assert p.mobile not in answer.text


def person_id_of(client: TestClient, headers: dict[str, str], p: SyntheticPerson) -> str:
    answer = client.post(
        "/api/v1/people/search", json={"id_number": p.resident_id}, headers=headers
    )
    assert answer.status_code == 200, answer.json()
    return str(answer.json()["person"]["person_id"])


def names_listed(client: TestClient, headers: dict[str, str], **params: str) -> set[str]:
    answer = client.get("/api/v1/people", params=params, headers=headers)
    assert answer.status_code == 200, answer.json()
    return {item["name"] for item in answer.json()["items"]}


# --- Reading --------------------------------------------------------------------------------------


def test_a_city_admin_lists_only_their_city_masked(
    client: TestClient, ctx: AppContext, registry: Registry
) -> None:
    answer = client.get("/api/v1/people", headers=admin(ctx))
    assert answer.status_code == 200, answer.json()
    items = answer.json()["items"]
    assert {i["name"] for i in items} == {"太原甲", "太原乙"}
    by_name = {i["name"]: i for i in items}
    first = registry.here[0]
    shown = by_name["太原甲"]
    assert shown["id_masked"] == mask_resident_id(first.resident_id)
    assert shown["mobile_masked"] == mask_mobile(first.mobile)
    assert shown["household_region"] == CITY
    assert shown["target_groups"] == ["unemployed"]
    assert shown["card_status"] == "active"
    assert shown["birth_year"] == int(first.resident_id[6:10])
    assert "birth_date" not in shown  # with the mask, the full date would give the number away
    assert_no_full_numbers(answer, registry.everyone)
    assert names_listed(client, admin(ctx, OTHER_CITY)) == {"大同甲"}


def test_a_province_admin_sees_both_cities_and_can_narrow(
    client: TestClient, ctx: AppContext, registry: Registry
) -> None:
    province = admin(ctx, PROVINCE)
    assert names_listed(client, province) == {"太原甲", "太原乙", "大同甲"}
    assert names_listed(client, province, region=OTHER_CITY) == {"大同甲"}
    assert names_listed(client, province, target_group="retired_soldier") == {"太原乙"}
    assert names_listed(client, province, card_status="none") == {"太原乙"}
    # A filter never widens the scope: a city admin asking for another city sees nobody.
    assert names_listed(client, admin(ctx), region=OTHER_CITY) == set()


def test_the_list_pages_with_a_cursor(client: TestClient, ctx: AppContext) -> None:
    import_people(ctx, [person(name=f"学员{i}") for i in range(5)])
    headers = admin(ctx)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, str | int] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/people", params=params, headers=headers).json()
        seen += [i["person_id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    bad = client.get("/api/v1/people", params={"cursor": "nonsense"}, headers=headers)
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_input")
    too_many = client.get("/api/v1/people", params={"limit": 201}, headers=headers)
    assert (too_many.status_code, too_many.json()["code"]) == (422, "request_invalid")


def test_another_city_s_person_answers_404_like_a_missing_one(
    client: TestClient, ctx: AppContext, registry: Registry
) -> None:
    theirs = person_id_of(client, admin(ctx, OTHER_CITY), registry.there[0])
    hidden = client.get(f"/api/v1/people/{theirs}", headers=admin(ctx))
    missing = client.get(f"/api/v1/people/{uuid.uuid4()}", headers=admin(ctx))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["code"] == missing.json()["code"] == "not_found"
    assert hidden.json()["title"] == missing.json()["title"]
    assert client.get(f"/api/v1/people/{theirs}", headers=admin(ctx, PROVINCE)).status_code == 200


def test_a_person_shows_with_their_vouchers(client: TestClient, ctx: AppContext) -> None:
    world = training_world(ctx, people=1)
    holder = world.people[0]
    voucher = issue(ctx, world.scheme.code, holder)
    headers = admin(ctx)
    answer = client.get(f"/api/v1/people/{person_id_of(client, headers, holder)}", headers=headers)
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["person"]["id_masked"] == mask_resident_id(holder.resident_id)
    [held] = body["vouchers"]
    assert held["voucher_id"] == str(voucher.voucher_id)
    assert (held["scheme_code"], held["status"]) == (world.scheme.code, "issued")
    assert held["face_value_fen"] == 150_000
    assert_no_full_numbers(answer, [holder])


def test_search_takes_the_number_in_the_body_and_hides_other_regions(
    client: TestClient, ctx: AppContext, registry: Registry
) -> None:
    mine, theirs = registry.here[0], registry.there[0]
    # Spaced and with full-width digits, as numbers are often pasted.
    full_width = str.maketrans("0123456789", "０１２３４５６７８９")
    number = mine.resident_id
    spaced = " ".join([number[:6], number[6:14].translate(full_width), number[14:]])
    found = client.post("/api/v1/people/search", json={"id_number": spaced}, headers=admin(ctx))
    assert found.status_code == 200, found.json()
    assert found.json()["person"]["name"] == mine.name
    assert_no_full_numbers(found, registry.everyone)

    hidden = client.post(
        "/api/v1/people/search", json={"id_number": theirs.resident_id}, headers=admin(ctx)
    )
    unknown = client.post(
        "/api/v1/people/search",
        json={"id_number": person(region=CITY).resident_id},
        headers=admin(ctx),
    )
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == unknown.json()  # the same answer, word for word
    assert_no_full_numbers(hidden, registry.everyone)

    broken = client.post("/api/v1/people/search", json={"id_number": "123"}, headers=admin(ctx))
    assert (broken.status_code, broken.json()["code"]) == (422, "invalid_resident_id")
    extra = client.post(
        "/api/v1/people/search", json={"id_number": "x", "name": "y"}, headers=admin(ctx)
    )
    assert (extra.status_code, extra.json()["code"]) == (422, "request_invalid")


def test_no_people_endpoint_takes_an_id_number_in_the_url(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/people"):
            continue
        for operation in operations.values():
            names = {p["name"] for p in operation.get("parameters", [])}
            assert not names & {"id_number", "resident_id", "id"}, (path, names)


# --- Importing ------------------------------------------------------------------------------------


def csv_file(people: Iterable[SyntheticPerson]) -> bytes:
    lines = [",".join(PEOPLE_HEADER)]
    lines += [",".join(str(cell) for cell in people_row(p)) for p in people]
    return ("\n".join(lines) + "\n").encode()


def upload(
    client: TestClient, headers: dict[str, str], content: bytes, name: str = "registry.csv"
) -> Response:
    return client.post(
        "/api/v1/people/import", files={"file": (name, content, "text/csv")}, headers=headers
    )


def import_events(ctx: AppContext) -> list[str]:
    with ctx.unit_of_work() as uow:
        return [e.actor for e in uow.audit.for_entity("import", "registry.csv")]


def test_import_writes_only_rows_within_the_callers_region(
    client: TestClient, ctx: AppContext
) -> None:
    username = staff_account(ctx, Role.CITY_ADMIN, region_code=CITY)
    headers = bearer(sign_in_staff(ctx, username, PASSWORD).token)
    rows = [person(name="新人甲"), person(name="新人乙"), person(name="外地人", region=OTHER_CITY)]
    answer = upload(client, headers, csv_file(rows))
    assert answer.status_code == 200, answer.json()
    report = answer.json()
    assert (report["inserted"], report["updated"], report["unchanged"]) == (2, 0, 0)
    [problem] = report["problems"]
    assert problem["line"] == 4  # the header is line 1
    assert "outside" in problem["reason"]
    assert problem["key"] == mask_resident_id(rows[2].resident_id)
    assert_no_full_numbers(answer, rows)
    assert names_listed(client, admin(ctx, PROVINCE)) == {"新人甲", "新人乙"}
    assert import_events(ctx) == [f"staff:{username}"]

    again = upload(client, headers, csv_file(rows)).json()
    assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 2)
    assert [p["line"] for p in again["problems"]] == [4]
    assert names_listed(client, admin(ctx, PROVINCE)) == {"新人甲", "新人乙"}


def test_import_cannot_move_someone_registered_in_another_region(
    client: TestClient, ctx: AppContext, registry: Registry
) -> None:
    theirs = registry.there[0]
    moved = SyntheticPerson(**{**theirs.__dict__, "household_region": CITY, "name": "改名"})
    report = upload(client, admin(ctx), csv_file([moved])).json()
    assert report["inserted"] == report["updated"] == 0
    assert [p["line"] for p in report["problems"]] == [2]
    assert names_listed(client, admin(ctx, OTHER_CITY)) == {"大同甲"}
    # The province may: the move is within its region.
    report = upload(client, admin(ctx, PROVINCE), csv_file([moved])).json()
    assert (report["updated"], report["problems"]) == (1, [])
    assert names_listed(client, admin(ctx, OTHER_CITY)) == set()


def test_an_xlsx_registry_imports(client: TestClient, ctx: AppContext) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(PEOPLE_HEADER))
    newcomer = person(name="表格人")
    sheet.append([str(cell) for cell in people_row(newcomer)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    answer = upload(client, admin(ctx), buffer.getvalue(), name="registry.xlsx")
    assert answer.status_code == 200, answer.json()
    assert (answer.json()["inserted"], answer.json()["problems"]) == (1, [])


def test_bad_uploads_are_problems(
    client: TestClient, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = admin(ctx)
    wrong_kind = upload(client, headers, b"hello", name="notes.txt")
    assert (wrong_kind.status_code, wrong_kind.json()["code"]) == (422, "invalid_input")
    no_columns = upload(client, headers, b"a,b\n1,2\n")
    assert (no_columns.status_code, no_columns.json()["code"]) == (422, "invalid_input")
    not_xlsx = upload(client, headers, b"not a workbook", name="registry.xlsx")
    assert (not_xlsx.status_code, not_xlsx.json()["code"]) == (422, "invalid_input")
    no_file = client.post("/api/v1/people/import", headers=headers)
    assert (no_file.status_code, no_file.json()["code"]) == (422, "request_invalid")
    monkeypatch.setattr(people_router, "MAX_UPLOAD_BYTES", 100)
    too_big = upload(client, headers, csv_file([person(), person(), person()]))
    assert too_big.status_code == 413
    assert too_big.headers["content-type"] == "application/problem+json"
    assert names_listed(client, headers) == set()


# --- Who may -------------------------------------------------------------------------------------


def test_roles_without_the_registry_are_refused(
    client: TestClient, ctx: AppContext, registry: Registry
) -> None:
    some_id = person_id_of(client, admin(ctx), registry.here[0])
    institution = import_institution(ctx)
    with ctx.unit_of_work() as uow:
        found = uow.catalogue.institution_by_code(institution)
        assert found is not None
        institution_id = found.id
        worker_id = uow.people.by_digest(ctx.digest(registry.here[0].resident_id))
        assert worker_id is not None
    callers = {
        "worker": worker_headers(ctx, worker_id.id),
        "institution": staff_headers(ctx, Role.INSTITUTION_STAFF, institution_id=institution_id),
        "enterprise": staff_headers(
            ctx,
            Role.ENTERPRISE_HR,
            employer_credit_code=institution,  # any valid credit code will do here
        ),
        "statistician": staff_headers(ctx, Role.NATIONAL_STATISTICIAN, region_code=None),
    }
    for who, headers in callers.items():
        answers = [
            client.get("/api/v1/people", headers=headers),
            client.get(f"/api/v1/people/{some_id}", headers=headers),
            client.post(
                "/api/v1/people/search",
                json={"id_number": registry.here[0].resident_id},
                headers=headers,
            ),
            upload(client, headers, csv_file([person()])),
        ]
        for answer in answers:
            assert (answer.status_code, answer.json()["code"]) == (403, "access_denied"), who
    auditor = staff_headers(ctx, Role.AUDITOR)
    assert names_listed(client, auditor) == {"太原甲", "太原乙"}
    refused = upload(client, auditor, csv_file([person()]))
    assert (refused.status_code, refused.json()["code"]) == (403, "access_denied")
    anonymous = client.get("/api/v1/people")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "not_authenticated")
