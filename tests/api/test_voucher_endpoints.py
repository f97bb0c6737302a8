"""Vouchers through HTTP for signed-in callers: a worker's own, staff search and details within
their scope, the QR image, revocation and the holder's consent code."""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.etree import ElementTree

import pytest
from fastapi.testclient import TestClient

from builders import (
    CITY,
    OTHER_CITY,
    Clock,
    TrainingWorld,
    credit_code,
    deposit,
    import_people,
    issue,
    make_scheme,
    person,
    training_world,
)
from principals import PASSWORD, bearer, staff_account, staff_headers, worker_headers
from skillvoucher.application import enrolment
from skillvoucher.application.context import AppContext
from skillvoucher.application.sign_in import sign_in_staff
from skillvoucher.credentials.qr import qr_png
from skillvoucher.demo.synthetic import SyntheticPerson
from skillvoucher.domain.access import Role
from skillvoucher.domain.errors import ConsentInvalid
from skillvoucher.domain.people import TargetGroup

Json = dict[str, Any]


def person_id_of(ctx: AppContext, holder: SyntheticPerson) -> uuid.UUID:
    with ctx.unit_of_work() as uow:
        found = uow.people.by_digest(ctx.digest(holder.resident_id))
    assert found is not None
    return found.id


@dataclass(frozen=True)
class Stage:
    world: TrainingWorld
    ours: list[uuid.UUID]  # vouchers of CITY, one per person of the world
    theirs: uuid.UUID  # a voucher of OTHER_CITY
    stranger: SyntheticPerson  # holder of ``theirs``


@pytest.fixture
def stage(ctx: AppContext) -> Stage:
    world = training_world(ctx, people=3)
    ours = [issue(ctx, world.scheme.code, p).voucher_id for p in world.people]
    stranger = person(region=OTHER_CITY, name="李雷")
    import_people(ctx, [stranger])
    deposit(ctx, region=OTHER_CITY)
    make_scheme(ctx, code="DT-2026-IND", name="大同市培训券", region=OTHER_CITY)
    theirs = issue(ctx, "DT-2026-IND", stranger).voucher_id
    return Stage(world, ours, theirs, stranger)


def items(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.json()
    return [item["voucher_id"] for item in answer.json()["items"]]


def problem_code(answer: Any, status: int) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    code: str = answer.json()["code"]
    return code


# --- A worker's own ----------------------------------------------------------------------------


def test_a_worker_sees_only_their_own_vouchers(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    me = worker_headers(ctx, person_id_of(ctx, stage.world.people[0]))
    mine = stage.ours[0]

    assert items(client.get("/api/v1/vouchers/mine", headers=me)) == [str(mine)]
    # Search with voucher:read is scoped to the worker too, whatever the filters say.
    assert items(client.get("/api/v1/vouchers", headers=me)) == [str(mine)]
    assert items(client.get("/api/v1/vouchers", headers=me, params={"region": CITY})) == [str(mine)]

    own = client.get(f"/api/v1/vouchers/{mine}", headers=me)
    assert own.status_code == 200, own.json()
    assert (own.json()["voucher_id"], own.json()["status"]) == (str(mine), "issued")

    for other in (stage.ours[1], stage.theirs):
        assert problem_code(client.get(f"/api/v1/vouchers/{other}", headers=me), 404) == (
            "not_found"
        )


def test_mine_is_for_workers_and_needs_a_sign_in(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    admin = staff_headers(ctx, Role.CITY_ADMIN)
    assert problem_code(client.get("/api/v1/vouchers/mine", headers=admin), 403) == (
        "access_denied"
    )
    assert problem_code(client.get("/api/v1/vouchers/mine"), 401) == "not_authenticated"
    assert problem_code(client.get(f"/api/v1/vouchers/{stage.ours[0]}"), 401) == (
        "not_authenticated"
    )


def test_details_show_the_holder_masked_only(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    holder = stage.world.people[0]
    answer = client.get(
        f"/api/v1/vouchers/{stage.ours[0]}", headers=staff_headers(ctx, Role.CITY_ADMIN)
    )
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert body["scheme_code"] == stage.world.scheme.code
    assert body["face_value_fen"] == 150_000
    assert body["holder_id_masked"] != holder.resident_id
    assert "*" in body["holder_id_masked"]
    assert body["holder_mobile_masked"] != holder.mobile
    assert holder.resident_id not in answer.text
    assert holder.mobile not in answer.text


# --- Staff within their scope ------------------------------------------------------------------


def test_another_citys_voucher_answers_as_a_missing_one(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    datong = staff_headers(ctx, Role.CITY_ADMIN, region_code=OTHER_CITY)
    hidden = client.get(f"/api/v1/vouchers/{stage.ours[0]}", headers=datong)
    missing_id = uuid.uuid4()
    missing = client.get(f"/api/v1/vouchers/{missing_id}", headers=datong)
    assert problem_code(hidden, 404) == problem_code(missing, 404) == "not_found"
    assert hidden.json()["detail"].replace(str(stage.ours[0]), "?") == missing.json()[
        "detail"
    ].replace(str(missing_id), "?")

    assert items(client.get("/api/v1/vouchers", headers=datong)) == [str(stage.theirs)]
    # A region filter outside the scope finds nothing; it is not an error.
    assert items(client.get("/api/v1/vouchers", headers=datong, params={"region": CITY})) == []
    assert (
        items(client.get("/api/v1/vouchers", headers=datong, params={"scheme_code": "TY-2026-IND"}))
        == []
    )

    taiyuan = staff_headers(ctx, Role.CITY_ADMIN)
    assert items(client.get("/api/v1/vouchers", headers=taiyuan)) == [str(v) for v in stage.ours]
    shanxi = staff_headers(ctx, Role.PROVINCE_ADMIN, region_code="140000")
    assert set(items(client.get("/api/v1/vouchers", headers=shanxi))) == {
        *map(str, stage.ours),
        str(stage.theirs),
    }


def test_search_filters_and_pages_with_a_cursor(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    shanxi = staff_headers(ctx, Role.PROVINCE_ADMIN, region_code="140000")
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(10):
        params: dict[str, str | int] = {"limit": 1}
        if cursor:
            params["cursor"] = cursor
        answer = client.get("/api/v1/vouchers", headers=shanxi, params=params)
        seen += items(answer)
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen)  # uuid7: issue order
    assert set(seen) == {*map(str, stage.ours), str(stage.theirs)}

    by_scheme = {"scheme_code": "DT-2026-IND"}
    assert items(client.get("/api/v1/vouchers", headers=shanxi, params=by_scheme)) == [
        str(stage.theirs)
    ]
    by_region = {"region": OTHER_CITY}
    assert items(client.get("/api/v1/vouchers", headers=shanxi, params=by_region)) == [
        str(stage.theirs)
    ]
    revoked = {"status": "revoked"}
    assert items(client.get("/api/v1/vouchers", headers=shanxi, params=revoked)) == []
    enrolled_at = {"institution_id": str(uuid.uuid4())}
    assert items(client.get("/api/v1/vouchers", headers=shanxi, params=enrolled_at)) == []


def test_enterprise_hr_sees_their_employees_enterprise_vouchers_only(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    ours, theirs = credit_code(CITY, "enterprise"), credit_code(CITY, "enterprise")
    make_scheme(
        ctx,
        code="TY-ENT",
        type="enterprise",
        eligibility={"target_groups": ["employee"], "one_active_voucher": False},
    )
    make_scheme(
        ctx,
        code="TY-IND-EMP",
        eligibility={"target_groups": ["employee"], "one_active_voucher": False},
    )
    our_staff = person(groups=[TargetGroup.EMPLOYEE], employer=ours)
    their_staff = person(groups=[TargetGroup.EMPLOYEE], employer=theirs)
    import_people(ctx, [our_staff, their_staff])
    our_voucher = issue(ctx, "TY-ENT", our_staff, ours).voucher_id
    their_voucher = issue(ctx, "TY-ENT", their_staff, theirs).voucher_id
    # An employee's own individual voucher is none of their employer's business.
    private = issue(ctx, "TY-IND-EMP", our_staff).voucher_id

    hr = staff_headers(ctx, Role.ENTERPRISE_HR, employer_credit_code=ours)
    assert items(client.get("/api/v1/vouchers", headers=hr)) == [str(our_voucher)]
    assert client.get(f"/api/v1/vouchers/{our_voucher}", headers=hr).status_code == 200
    for hidden in (their_voucher, private, stage.ours[0]):
        assert problem_code(client.get(f"/api/v1/vouchers/{hidden}", headers=hr), 404) == (
            "not_found"
        )


# --- QR ----------------------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a well-formed PNG: every chunk's CRC right and the image data
    inflating to exactly the rows the header promises."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        content = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + content) == crc
        chunks.append((kind, content))
        position += 12 + length
    assert chunks[0][0] == b"IHDR"
    assert chunks[-1][0] == b"IEND"
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    pixels = zlib.decompress(b"".join(c for k, c in chunks if k == b"IDAT"))
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    row_bytes = (width * depth * channels + 7) // 8
    assert len(pixels) == height * (1 + row_bytes)
    return width, height


def test_the_qr_code_comes_as_png_or_svg(client: TestClient, ctx: AppContext, stage: Stage) -> None:
    me = worker_headers(ctx, person_id_of(ctx, stage.world.people[0]))
    credential = client.get(f"/api/v1/vouchers/{stage.ours[0]}", headers=me).json()["credential"]

    png = client.get(f"/api/v1/vouchers/{stage.ours[0]}/qr", headers=me)
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.headers["cache-control"] == "no-store"
    width, height = png_size(png.content)
    assert width == height > 0
    assert png.content == qr_png(credential)  # the voucher's own signed code

    svg = client.get(
        f"/api/v1/vouchers/{stage.ours[0]}/qr", headers=me, params={"format": "svg", "scale": 2}
    )
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert ElementTree.fromstring(svg.content).tag == "{http://www.w3.org/2000/svg}svg"

    gif = client.get(f"/api/v1/vouchers/{stage.ours[0]}/qr", headers=me, params={"format": "gif"})
    assert problem_code(gif, 422) == "request_invalid"
    huge = client.get(f"/api/v1/vouchers/{stage.ours[0]}/qr", headers=me, params={"scale": 500})
    assert problem_code(huge, 422) == "request_invalid"
    other = client.get(f"/api/v1/vouchers/{stage.ours[1]}/qr", headers=me)
    assert problem_code(other, 404) == "not_found"


# --- Revocation --------------------------------------------------------------------------------


def test_an_auditor_reads_but_may_not_revoke(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    auditor = staff_headers(ctx, Role.AUDITOR)
    voucher = stage.ours[0]
    assert client.get(f"/api/v1/vouchers/{voucher}", headers=auditor).status_code == 200
    refused = client.post(
        f"/api/v1/vouchers/{voucher}/revoke", headers=auditor, json={"reason": "test"}
    )
    assert problem_code(refused, 403) == "access_denied"
    assert client.get(f"/api/v1/vouchers/{voucher}", headers=auditor).json()["status"] == "issued"


def test_revocation_is_audited_in_the_callers_name(
    client: TestClient, ctx: AppContext, stage: Stage
) -> None:
    username = staff_account(ctx, Role.CITY_ADMIN)
    admin = bearer(sign_in_staff(ctx, username, PASSWORD).token)
    voucher = stage.ours[0]

    answer = client.post(
        f"/api/v1/vouchers/{voucher}/revoke", headers=admin, json={"reason": "moved away"}
    )
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {
        "voucher_id": str(voucher),
        "status": "revoked",
        "released_fen": 150_000,
    }
    with ctx.unit_of_work() as uow:
        events = [
            e for e in uow.audit.for_entity("voucher", voucher) if e.action != "voucher.issued"
        ]
    assert [(e.action, e.actor, e.payload["reason"]) for e in events] == [
        ("voucher.revoked", f"staff:{username}", "moved away")
    ]

    again = client.post(f"/api/v1/vouchers/{voucher}/revoke", headers=admin, json={"reason": "x"})
    assert problem_code(again, 409) == "illegal_transition"


def test_another_city_cannot_revoke(client: TestClient, ctx: AppContext, stage: Stage) -> None:
    datong = staff_headers(ctx, Role.CITY_ADMIN, region_code=OTHER_CITY)
    voucher = stage.ours[0]
    answer = client.post(f"/api/v1/vouchers/{voucher}/revoke", headers=datong, json={"reason": "x"})
    assert problem_code(answer, 404) == "not_found"
    with ctx.unit_of_work() as uow:
        found = uow.vouchers.get(voucher)
        assert found is not None
        assert found.status == "issued"
        assert [e.action for e in uow.audit.for_entity("voucher", voucher)] == ["voucher.issued"]


# --- Consent -----------------------------------------------------------------------------------


def test_the_holders_consent_code_enrols_once(
    client: TestClient, ctx: AppContext, clock: Clock, stage: Stage
) -> None:
    voucher = stage.ours[0]
    me = worker_headers(ctx, person_id_of(ctx, stage.world.people[0]))
    answer = client.post(f"/api/v1/vouchers/{voucher}/consent", headers=me)
    assert answer.status_code == 201, answer.json()
    assert answer.headers["cache-control"] == "no-store"
    code = answer.json()["code"]
    assert len(code) == 6
    assert code.isdigit()
    expires_at = datetime.fromisoformat(answer.json()["expires_at"])
    assert expires_at.utcoffset() is not None
    assert expires_at > clock.now

    receipt = enrolment.enrol(ctx, voucher, stage.world.institution, "C1", code)
    assert receipt.voucher_id == voucher
    enrolment.cancel_enrolment(ctx, voucher, "changed course")
    with pytest.raises(ConsentInvalid):
        enrolment.enrol(ctx, voucher, stage.world.institution, "C1", code)


def test_only_the_holder_grants_consent(client: TestClient, ctx: AppContext, stage: Stage) -> None:
    voucher = stage.ours[0]
    neighbour = worker_headers(ctx, person_id_of(ctx, stage.world.people[1]))
    assert problem_code(client.post(f"/api/v1/vouchers/{voucher}/consent", headers=neighbour), 404)
    admin = staff_headers(ctx, Role.CITY_ADMIN)
    assert problem_code(client.post(f"/api/v1/vouchers/{voucher}/consent", headers=admin), 403)


# --- Bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [{}, {"reason": ""}, {"reason": "x" * 201}, {"reason": "x", "extra": 1}, ["x"]]
)
def test_malformed_revocations_are_problems(
    client: TestClient, ctx: AppContext, stage: Stage, body: object
) -> None:
    admin = staff_headers(ctx, Role.CITY_ADMIN)
    answer = client.post(f"/api/v1/vouchers/{stage.ours[0]}/revoke", headers=admin, json=body)
    assert problem_code(answer, 422) == "request_invalid"


def test_a_path_that_names_no_voucher_is_not_found(client: TestClient, ctx: AppContext) -> None:
    admin = staff_headers(ctx, Role.CITY_ADMIN)
    assert problem_code(client.get("/api/v1/vouchers/not-a-uuid", headers=admin), 404) == (
        "http_error"
    )
    # /vouchers/verify is POST only, and a GET says so rather than asking for a sign-in.
    wrong_method = client.get("/api/v1/vouchers/verify")
    assert problem_code(wrong_method, 405) == "http_error"


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/api/v1/vouchers", {"limit": 0}, "request_invalid"),
        ("/api/v1/vouchers", {"limit": 201}, "request_invalid"),
        ("/api/v1/vouchers", {"region": "abc"}, "request_invalid"),
        ("/api/v1/vouchers", {"region": "990100"}, "invalid_region_code"),
        ("/api/v1/vouchers", {"status": "lost"}, "request_invalid"),
        ("/api/v1/vouchers", {"cursor": "not a cursor"}, "invalid_input"),
        ("/api/v1/vouchers/mine", {"cursor": "x" * 65}, "request_invalid"),
    ],
)
def test_bad_queries_are_problems(
    client: TestClient, ctx: AppContext, path: str, params: Json, code: str
) -> None:
    headers = staff_headers(ctx, Role.CITY_ADMIN)
    if path.endswith("/mine"):
        holder = person()
        import_people(ctx, [holder])
        headers = worker_headers(ctx, person_id_of(ctx, holder))
    assert problem_code(client.get(path, headers=headers, params=params), 422) == code
