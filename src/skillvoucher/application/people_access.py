"""The people registry for administrators and auditors: list, find, show and import, each
within the caller's region scope.

A person outside the scope answers exactly as a missing one does, so that a refusal never tells
whether someone is registered elsewhere. ID numbers are never shown in clear (the database
holds only a digest and a mask) and mobile numbers are masked on the way out.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from skillvoucher.application import registry_import
from skillvoucher.application.context import AppContext
from skillvoucher.application.imports import ImportReport
from skillvoucher.application.paging import Page, check_limit, cursor_id, page_of
from skillvoucher.domain.access import AccessDenied, Permission, Principal
from skillvoucher.domain.errors import NotFound
from skillvoucher.domain.identity import Sex, mask_mobile, parse_resident_id
from skillvoucher.domain.people import CardStatus, TargetGroup, mask_to_groups
from skillvoucher.domain.regions import code_prefix, validate_region_code
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.read_models import people_search
from skillvoucher.persistence.tables import Person
from skillvoucher.persistence.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class PeopleFilter:
    region_code: str | None = None  # a province, city or county: people living within it
    target_group: TargetGroup | None = None
    card_status: CardStatus | None = None


@dataclass(frozen=True)
class PersonView:
    person_id: uuid.UUID
    name: str
    id_masked: str
    mobile_masked: str | None
    # The year only: the mask hides exactly the eight birth-date digits, so the full date next
    # to it would give the whole ID number away.
    birth_year: int
    sex: Sex
    household_region: str
    card_status: CardStatus
    target_groups: tuple[TargetGroup, ...]
    employer_credit_code: str | None


@dataclass(frozen=True)
class HeldVoucher:
    voucher_id: uuid.UUID
    scheme_code: str
    scheme_name: str
    status: VoucherStatus
    face_value_fen: int
    issued_at: datetime
    valid_until: datetime


@dataclass(frozen=True)
class PersonDetails:
    person: PersonView
    vouchers: list[HeldVoucher]


def _view(person: Person) -> PersonView:
    groups = mask_to_groups(person.target_groups_mask)
    return PersonView(
        person_id=person.id,
        name=person.name,
        id_masked=person.id_masked,
        mobile_masked=mask_mobile(person.mobile) if person.mobile else None,
        birth_year=person.birth_date.year,
        sex=person.sex,
        household_region=person.household_region,
        card_status=person.card_status,
        target_groups=tuple(g for g in TargetGroup if g in groups),  # the enum's fixed order
        employer_credit_code=person.employer_credit_code,
    )


def list_people(
    ctx: AppContext,
    principal: Principal,
    filters: PeopleFilter,
    cursor: str | None,
    limit: int,
) -> Page[PersonView]:
    """People within the caller's scope matching ``filters``, page by page in id order."""
    principal.require(Permission.PERSON_READ)
    query = people_search.PeopleQuery(
        region_prefix=(
            code_prefix(validate_region_code(filters.region_code)) if filters.region_code else None
        ),
        target_group_bit=filters.target_group.bit if filters.target_group else None,
        card_status=filters.card_status,
    )
    with ctx.unit_of_work() as uow:
        rows = people_search.people_page(
            uow.session, principal.scope, query, cursor_id(cursor), check_limit(limit) + 1
        )
        page = page_of(rows, limit, lambda p: p.id)
        return Page([_view(p) for p in page.items], page.next_cursor)


def person_details(ctx: AppContext, principal: Principal, person_id: uuid.UUID) -> PersonDetails:
    """One person within the caller's scope, with the vouchers they hold."""
    principal.require(Permission.PERSON_READ)
    with ctx.unit_of_work() as uow:
        person = people_search.person_in_scope(uow.session, principal.scope, person_id)
        if person is None:
            raise NotFound(f"person {person_id} is not known")
        return _details(uow, principal, person)


def find_person(ctx: AppContext, principal: Principal, id_number: str) -> PersonDetails:
    """The person with this resident ID number, if within the caller's scope.

    The number is normalised (spaces, full-width digits, a lower-case x) and looked up by its
    keyed digest; it is never stored, logged or repeated in an error.
    """
    principal.require(Permission.PERSON_READ)
    digest = ctx.digest(parse_resident_id(id_number).number)
    with ctx.unit_of_work() as uow:
        person = people_search.person_by_digest_in_scope(uow.session, principal.scope, digest)
        if person is None:
            raise NotFound("no person with that ID number is known")
        return _details(uow, principal, person)


def _details(uow: UnitOfWork, principal: Principal, person: Person) -> PersonDetails:
    held = people_search.vouchers_held(uow.session, principal.scope, person.id)
    return PersonDetails(
        person=_view(person),
        vouchers=[
            HeldVoucher(
                voucher_id=v.id,
                scheme_code=code,
                scheme_name=name,
                status=v.status,
                face_value_fen=v.face_value_fen,
                issued_at=v.issued_at,
                valid_until=v.valid_until,
            )
            for v, code, name in held
        ],
    )


def import_registry(ctx: AppContext, principal: Principal, path: Path) -> ImportReport:
    """Import a registry file (CSV or XLSX); rows outside the caller's region, or naming a
    person registered outside it, are reported by line and not written. Re-runnable."""
    principal.require(Permission.PERSON_IMPORT)
    scope = principal.scope
    if scope.person_id or scope.institution_id or scope.employer_credit_code:
        # A narrowed scope cannot be expressed as a region prefix: refuse rather than widen it.
        raise AccessDenied(f"{principal.role.value} may not import the registry")
    return registry_import.import_people(
        ctx.acting_as(principal.label), path, region_prefix=scope.region_prefix
    )
