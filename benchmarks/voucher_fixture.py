"""Vouchers at size for the read-side scenarios: catalogue, schemes, vouchers and their ledger.

The catalogue and the schemes go through the real use cases (the demo's catalogue files, its
province scheme with the fund deposit and allocation). The vouchers and their ledger journals
are then written with COPY, shaped as the use cases leave them: one voucher per person and
scheme, about one in ten used (enrolled, in training, completed or settled), a commitment
journal per voucher, payable and paid journals with the release of the rest for settled ones,
releases for expired and revoked ones. Not written: audit events, enrolments, attendance and
signed credentials (the statistics do not read them).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any

import sqlalchemy as sa

from benchmarks.bulk_rows import Row, write_rows
from benchmarks.registry import shanxi_cities
from skillvoucher.application import catalogue_import, funds, schemes
from skillvoucher.application.context import AppContext
from skillvoucher.application.scheme_files import parse_scheme_document
from skillvoucher.demo.files import write_catalogue
from skillvoucher.demo.schemes import target_group_scheme
from skillvoucher.domain.catalogue import ApprovalStatus
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.ledger import MOVES, Account, JournalKind
from skillvoucher.domain.occupations import builtin_occupations
from skillvoucher.domain.people import mask_to_groups
from skillvoucher.domain.regions import builtin_regions
from skillvoucher.domain.vouchers import VoucherStatus as S
from skillvoucher.persistence.tables import (
    Course,
    Institution,
    LedgerEntry,
    Person,
    Scheme,
    Voucher,
)

CHUNK = 100_000
VOUCHER_COLUMNS = tuple(c.name for c in Voucher.__table__.columns)
LEDGER_COLUMNS = tuple(c.name for c in LedgerEntry.__table__.columns)
# (status, share): about one voucher in ten used, as a campaign some months in.
STATUSES = (
    (S.ISSUED, 0.80),
    (S.ENROLLED, 0.02),
    (S.IN_TRAINING, 0.04),
    (S.COMPLETED, 0.03),
    (S.SETTLED, 0.05),
    (S.EXPIRED, 0.05),
    (S.REVOKED, 0.01),
)
FACE_VALUES = (100_000, 150_000, 200_000, 60_000, 50_000)
# Scheme variants: (region, issuance mode), so that breakdowns by scheme and the claimed count
# have something to show.
VARIANTS = (("140000", "push"), ("140100", "claim"), ("140200", "application"))
# Issued over the 240 days before the benchmarks' "today" (database.BENCH_NOW, 2 March 2026):
# some last year, some this year, as the eligibility limits per year need.
CAMPAIGN_START = datetime(2025, 7, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class VoucherLoad:
    vouchers: int
    ledger_entries: int
    seconds: float


@dataclass(frozen=True)
class _Seat:
    course_id: uuid.UUID
    institution_id: uuid.UUID
    price_fen: int
    level: str


def _catalogue(ctx: AppContext, rng: Random, per_city: int) -> list[_Seat]:
    folder = ctx.settings.data_dir / "catalogue"
    folder.mkdir(parents=True, exist_ok=True)
    names = {r.code: r.name for r in builtin_regions()}
    cities = [(code, names[code]) for code in shanxi_cities()]
    write_catalogue(
        rng, folder / "inst.csv", folder / "courses.csv", cities, per_city,
        builtin_occupations(), 2026,
    )  # fmt: skip
    catalogue_import.import_institutions(ctx, folder / "inst.csv")
    catalogue_import.import_courses(ctx, folder / "courses.csv")
    with ctx.engine.connect() as connection:
        stmt = (
            sa.select(Course.id, Course.institution_id, Course.price_fen, Course.skill_level)
            .join(Institution, Institution.id == Course.institution_id)
            .where(Institution.approval_status == ApprovalStatus.APPROVED)
        )
        return [_Seat(c, i, p, str(level)) for c, i, p, level in connection.execute(stmt)]


def _schemes(ctx: AppContext, count: int, per_scheme: int) -> list[tuple[uuid.UUID, str]]:
    """(id, region) of ``count`` launched schemes, each funded for ``per_scheme`` vouchers."""
    made = []
    for k in range(count):
        region, mode = VARIANTS[k % len(VARIANTS)]
        doc = target_group_scheme(2026, quota=per_scheme)
        doc.update(code=f"BENCH-{k:03d}", region=region, issuance=mode)
        doc["eligibility"]["household_regions"] = [region]
        funds.deposit(ctx, region, doc["budget_fen"], "benchmark")
        schemes.create_scheme(ctx, parse_scheme_document(doc))
        with ctx.engine.connect() as connection:
            scheme_id = connection.scalar(sa.select(Scheme.id).where(Scheme.code == doc["code"]))
        assert scheme_id is not None
        made.append((scheme_id, region))
    return made


def _journal(kind: JournalKind, amount: int, at: datetime, v: dict[str, Any]) -> list[Row]:
    source, target = MOVES[kind]
    journal = new_id()
    return [
        (new_id(), journal, kind, None, account, sign * amount, v["region_code"],
         v["province_code"], v["scheme_id"], v["id"], v["institution_id"], None, at)
        for account, sign in ((source, -1), (target, 1))
    ]  # fmt: skip


def _voucher(
    rng: Random, scheme: tuple[uuid.UUID, str], person: Any, seats: list[_Seat]
) -> tuple[dict[str, Any], list[Row]]:
    scheme_id, region = scheme
    status = rng.choices([s for s, _ in STATUSES], [w for _, w in STATUSES])[0]
    issued = CAMPAIGN_START + timedelta(days=rng.randrange(240), seconds=rng.randrange(86_400))
    face = rng.choice(FACE_VALUES)
    groups = sorted(g.value for g in mask_to_groups(person.target_groups_mask))
    v: dict[str, Any] = dict.fromkeys(VOUCHER_COLUMNS)
    v.update(
        id=new_id(), scheme_id=scheme_id, person_id=person.id, region_code=region,
        province_code="140000", holder_region=person.household_region,
        target_group=groups[0] if groups else None, face_value_fen=face, status=status,
        issued_at=issued, valid_until=issued + timedelta(days=180), version=1,
    )  # fmt: skip
    ledger = _journal(JournalKind.COMMITMENT, face, issued, v)
    if status in (S.EXPIRED, S.REVOKED):
        closed = v["valid_until"] if status is S.EXPIRED else issued + timedelta(days=10)
        v["closed_at"] = closed
        return v, ledger + _journal(JournalKind.RELEASE, face, closed, v)
    if status is S.ISSUED:
        return v, ledger
    seat = rng.choice(seats)
    enrolled = issued + timedelta(days=rng.randrange(1, 30))
    v.update(
        course_id=seat.course_id, institution_id=seat.institution_id,
        redeemable_fen=min(face, seat.price_fen), enrolled_at=enrolled,
    )  # fmt: skip
    if status in (S.COMPLETED, S.SETTLED):
        v["completed_at"] = enrolled + timedelta(days=60)
        if rng.random() < 0.7:
            v.update(certificate_no=f"S{rng.randrange(10**9):09d}", certificate_level=seat.level,
                     certified_at=v["completed_at"])  # fmt: skip
    if status is S.SETTLED:
        paid, rest = v["redeemable_fen"], face - v["redeemable_fen"]
        closed = v["completed_at"] + timedelta(days=30)
        v["closed_at"] = closed
        ledger += _journal(JournalKind.PAYABLE, paid, closed, v)
        ledger += _journal(JournalKind.PAID, paid, closed, v)
        if rest:
            ledger += _journal(JournalKind.RELEASE, rest, closed, v)
    return v, ledger


def _batches(
    rng: Random,
    count: int,
    schemes_: list[tuple[uuid.UUID, str]],
    people: list[Any],
    seats: list[_Seat],
) -> Iterator[tuple[list[Row], list[Row]]]:
    vouchers: list[Row] = []
    ledger: list[Row] = []
    for i in range(count):
        v, entries = _voucher(rng, schemes_[i % len(schemes_)], people[i // len(schemes_)], seats)
        vouchers.append(tuple(v[c] for c in VOUCHER_COLUMNS))
        ledger += entries
        if len(vouchers) == CHUNK:
            yield vouchers, ledger
            vouchers, ledger = [], []
    if vouchers:
        yield vouchers, ledger


def load_vouchers(
    ctx: AppContext, count: int, *, institutions_per_city: int, seed: int = 2026
) -> VoucherLoad:
    """Write ``count`` vouchers (and their ledger) for the people of the registry."""
    with ctx.engine.connect() as connection:
        existing = int(connection.scalar(sa.select(sa.func.count()).select_from(Voucher)) or 0)
    if existing == count:  # a kept benchmark database: reuse its vouchers
        return VoucherLoad(count, 0, 0.0)
    if existing:
        raise SystemExit(f"the benchmark database holds {existing} vouchers, not {count}")
    start = time.perf_counter()
    rng = Random(seed)
    seats = _catalogue(ctx, rng, institutions_per_city)
    with ctx.engine.connect() as connection:
        registry = int(connection.scalar(sa.select(sa.func.count()).select_from(Person)) or 0)
    scheme_count = max(len(VARIANTS), math.ceil(count / max(registry, 1)))
    per_scheme = math.ceil(count / scheme_count)
    made = _schemes(ctx, scheme_count, per_scheme)
    with ctx.engine.connect() as connection:
        stmt = (
            sa.select(Person.id, Person.household_region, Person.target_groups_mask)
            .order_by(Person.id)
            .limit(per_scheme)
        )
        people = list(connection.execute(stmt))
    entries = 0
    for vouchers, ledger in _batches(rng, count, made, people, seats):
        with ctx.unit_of_work() as uow:
            write_rows(uow.session, Voucher, VOUCHER_COLUMNS, vouchers)
            entries += write_rows(uow.session, LedgerEntry, LEDGER_COLUMNS, ledger)
            uow.commit()
    _settle_scheme_counters(ctx)
    with ctx.engine.connect() as connection:
        for table in ("vouchers", "ledger_entries"):
            connection.exec_driver_sql(f"ANALYZE {table}")
        connection.commit()
    return VoucherLoad(count, entries, time.perf_counter() - start)


def _settle_scheme_counters(ctx: AppContext) -> None:
    """Bring each scheme's counters in line with the vouchers and journals written."""
    issued = sa.select(sa.func.count()).where(Voucher.scheme_id == Scheme.id).scalar_subquery()
    moved = (
        sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount_fen), 0))
        .where(
            LedgerEntry.scheme_id == Scheme.id,
            LedgerEntry.account == Account.SCHEME_AVAILABLE,
            LedgerEntry.voucher_id.is_not(None),
        )
        .scalar_subquery()
    )
    with ctx.unit_of_work() as uow:
        uow.session.execute(
            sa.update(Scheme).values(
                issued_count=issued, available_fen=Scheme.available_fen + moved
            )
        )
        uow.commit()
