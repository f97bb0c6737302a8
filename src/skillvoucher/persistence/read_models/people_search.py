"""The people registry as a principal sees it, narrowed by ``within_scope``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from skillvoucher.domain.access import Scope
from skillvoucher.domain.people import CardStatus
from skillvoucher.persistence.scoping import within_scope
from skillvoucher.persistence.tables import Person, Scheme, Voucher


@dataclass(frozen=True)
class PeopleQuery:
    region_prefix: str | None = None
    target_group_bit: int | None = None
    card_status: CardStatus | None = None


def _people(scope: Scope) -> sa.Select[Person]:
    return within_scope(
        sa.select(Person),
        scope,
        region=Person.household_region,
        person=Person.id,
        employer=Person.employer_credit_code,
    )


def people_page(
    session: Session, scope: Scope, query: PeopleQuery, after: uuid.UUID | None, limit: int
) -> list[Person]:
    """The next ``limit`` people after ``after`` in id order (ids are time-ordered)."""
    stmt = _people(scope).order_by(Person.id).limit(limit)
    if query.region_prefix:
        stmt = stmt.where(Person.household_region.startswith(query.region_prefix, autoescape=True))
    if query.target_group_bit is not None:
        stmt = stmt.where(Person.target_groups_mask.op("&")(query.target_group_bit) != 0)
    if query.card_status is not None:
        stmt = stmt.where(Person.card_status == query.card_status)
    if after is not None:
        stmt = stmt.where(Person.id > after)
    return list(session.scalars(stmt))


def person_in_scope(session: Session, scope: Scope, person_id: uuid.UUID) -> Person | None:
    return session.scalars(_people(scope).where(Person.id == person_id)).first()


def person_by_digest_in_scope(session: Session, scope: Scope, id_digest: str) -> Person | None:
    return session.scalars(_people(scope).where(Person.id_digest == id_digest)).first()


def vouchers_held(
    session: Session, scope: Scope, person_id: uuid.UUID
) -> list[tuple[Voucher, str, str]]:
    """The person's vouchers, newest first, each with its scheme's code and name.

    Scoped by where the holder lives, the same test that let the caller see the person.
    """
    vouchers = within_scope(
        sa.select(Voucher).where(Voucher.person_id == person_id),
        scope,
        region=Voucher.holder_region,
        person=Voucher.person_id,
        institution=Voucher.institution_id,
    )
    stmt = (
        vouchers.add_columns(Scheme.code, Scheme.name)
        .join(Scheme, Scheme.id == Voucher.scheme_id)
        .order_by(Voucher.issued_at.desc(), Voucher.id.desc())
    )
    return [(v, code, name) for v, code, name in session.execute(stmt)]


def registered_outside(session: Session, region_prefix: str, digests: Sequence[str]) -> set[str]:
    """Those of ``digests`` that belong to people registered outside ``region_prefix``.

    The one query here not built with ``within_scope``: it looks at exactly the rows a scope
    excludes, so that a scoped import can refuse to move them.
    """
    if not digests:
        return set()
    stmt = sa.select(Person.id_digest).where(
        Person.id_digest.in_(digests),
        ~Person.household_region.startswith(region_prefix, autoescape=True),
    )
    return set(session.scalars(stmt))
