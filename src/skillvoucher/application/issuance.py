"""Issue vouchers: to one person (application, claim, enterprise request) or pushed in bulk."""

from __future__ import annotations

import gc
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

import sqlalchemy as sa

from skillvoucher.application.chunk_spans import Span, run_spans
from skillvoucher.application.context import AppContext
from skillvoucher.application.quota_gate import count_place_taken, take_place
from skillvoucher.application.retries import retry_chunk
from skillvoucher.application.scheme_files import rules_of
from skillvoucher.application.voucher_codes import issued_claims
from skillvoucher.credentials.keys import SigningKey
from skillvoucher.credentials.tokens import sign_voucher
from skillvoucher.domain.errors import (
    AlreadyExists,
    DomainError,
    InvalidInput,
    NotEligible,
    NotFound,
    QuotaExhausted,
    SchemeNotActive,
)
from skillvoucher.domain.identity import mask_resident_id, parse_resident_id
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.ledger import JournalKind, Movement
from skillvoucher.domain.people import CardStatus, TargetGroup, mask_to_groups
from skillvoucher.domain.schemes import (
    NOT_AN_EMPLOYEE,
    IssuanceMode,
    PersonFacts,
    SchemeRules,
    SchemeStatus,
    employed_by_requester,
    ineligibility_reasons,
    qualifying_group,
)
from skillvoucher.domain.timekeeping import local_date, start_of_local_year
from skillvoucher.domain.vouchers import PUSHED_ACTION, VoucherStatus
from skillvoucher.persistence.bulk_copy import text_id
from skillvoucher.persistence.eligibility_sql import eligibility_condition, not_yet_holding
from skillvoucher.persistence.repositories.vouchers import IssuedBatch
from skillvoucher.persistence.tables import Person, Scheme
from skillvoucher.persistence.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class IssuedVoucher:
    voucher_id: uuid.UUID
    scheme_code: str
    value_fen: int
    valid_until: datetime
    credential: str


# Chunks of a push written at once on PostgreSQL: each COPY is taken by a server process of
# its own, so two use both cores of a small server. SQLite has one writer at a time.
_PUSH_WORKERS = 2


@dataclass(frozen=True)
class PushResult:
    issued: int
    eligible_left: int
    quota_left: int


def _active_scheme(uow: UnitOfWork, code: str) -> Scheme:
    scheme = uow.schemes.by_code(code)
    if scheme is None:
        raise NotFound(f"scheme {code} is not known")
    if scheme.status is not SchemeStatus.ACTIVE:
        raise SchemeNotActive(f"scheme {code} is {scheme.status.value}, not active")
    return scheme


def _group_value(group: TargetGroup | None) -> str | None:
    return group.value if group is not None else None


def _voucher_rows(
    scheme: Scheme,
    rules: SchemeRules,
    people: Sequence[tuple[uuid.UUID, str, int]],
    key: SigningKey,
    now: datetime,
) -> list[dict[str, Any]]:
    """Voucher rows with their signed credentials, for (person id, household, groups) triples."""
    valid_until = rules.validity.valid_until(now)
    face = rules.face_value.max_fen
    rows = []
    for person_id, household_region, mask in people:
        voucher_id = new_id()
        claims = issued_claims(
            voucher_id, scheme.code, scheme.region_code, person_id, face, now, valid_until
        )
        rows.append(
            {
                "id": voucher_id,
                "scheme_id": scheme.id,
                "person_id": person_id,
                "region_code": scheme.region_code,
                "province_code": scheme.province_code,
                "holder_region": household_region,
                "target_group": _group_value(qualifying_group(rules, mask_to_groups(mask))),
                "face_value_fen": face,
                "status": VoucherStatus.ISSUED,
                "issued_at": now,
                "valid_until": valid_until,
                "key_id": key.kid,
                "credential": sign_voucher(claims, key),
                "version": 1,
            }
        )
    return rows


def _write_issued(
    ctx: AppContext, uow: UnitOfWork, scheme: Scheme, rows: list[dict[str, Any]], now: datetime
) -> None:
    """Insert vouchers, commit their value in the ledger and audit each, in the caller's tx."""
    uow.vouchers.insert_many(rows)
    uow.ledger.post_many(
        [
            Movement(
                JournalKind.COMMITMENT,
                row["face_value_fen"],
                scheme.region_code,
                scheme_id=scheme.id,
                voucher_id=row["id"],
            )
            for row in rows
        ],
        now,
    )
    uow.audit.record_many(
        {
            "occurred_at": now,
            "actor": ctx.actor,
            "action": "voucher.issued",
            "entity_type": "voucher",
            "entity_id": str(row["id"]),
            "region_code": scheme.region_code,
            "payload": {"scheme": scheme.code, "value_fen": row["face_value_fen"]},
        }
        for row in rows
    )


def issue_to_person(
    ctx: AppContext,
    scheme_code: str,
    resident_id: str,
    enterprise_credit_code: str | None = None,
) -> IssuedVoucher:
    """Issue one voucher on application or claim, or raise why not (one transaction)."""
    number = parse_resident_id(resident_id).number
    return _issue_one(
        ctx,
        scheme_code,
        lambda uow: _locked(uow, uow.people.by_digest(ctx.digest(number))),
        f"no person {mask_resident_id(number)} in the registry",
        enterprise_credit_code,
    )


def issue_to_registered_person(
    ctx: AppContext,
    scheme_code: str,
    person_id: uuid.UUID,
    enterprise_credit_code: str | None = None,
) -> IssuedVoucher:
    """As ``issue_to_person``, for a person known by registry id: a signed-in worker, whose
    resident ID number the database does not hold (only its digest)."""
    return _issue_one(
        ctx,
        scheme_code,
        lambda uow: uow.people.lock(person_id),
        f"person {person_id} is not in the registry",
        enterprise_credit_code,
    )


def _locked(uow: UnitOfWork, found: Person | None) -> Person | None:
    return None if found is None else uow.people.lock(found.id)


def _issue_one(
    ctx: AppContext,
    scheme_code: str,
    find: Callable[[UnitOfWork], Person | None],
    missing: str,
    enterprise_credit_code: str | None,
) -> IssuedVoucher:
    """``find`` returns the person with their row locked: two claims by one person cannot both
    pass the 'already holds one' check."""
    if ctx.exhausted_quotas.known(scheme_code):
        raise _exhausted(scheme_code)
    now = ctx.clock()
    today = local_date(now)
    with ctx.unit_of_work() as uow:
        person = find(uow)
        if person is None:
            raise NotFound(missing)
        masked = person.id_masked
        scheme = _active_scheme(uow, scheme_code)
        if scheme.issuance_mode is IssuanceMode.PUSH:
            raise InvalidInput(
                f"scheme {scheme_code} issues by push to everyone eligible: "
                f"run `skillvoucher issue {scheme_code}`"
            )
        rules = rules_of(scheme.rules)
        facts = PersonFacts(
            birth_date=person.birth_date,
            household_region=person.household_region,
            groups=mask_to_groups(person.target_groups_mask),
            card_status=CardStatus(person.card_status),
            employer_credit_code=person.employer_credit_code,
        )
        if not employed_by_requester(rules, facts, enterprise_credit_code):
            # Another enterprise's employee: say only that, not what else we know of them
            # (their age, their card, the vouchers they hold).
            raise NotEligible(f"{masked} is not eligible: {NOT_AN_EMPLOYEE}")
        if uow.vouchers.find(scheme.id, person.id) is not None:
            raise AlreadyExists(f"{masked} already holds a voucher of {scheme_code}")
        history = uow.people.history(person.id, start_of_local_year(today))
        reasons = ineligibility_reasons(rules, facts, history, today, enterprise_credit_code)
        if reasons:
            raise NotEligible(f"{masked} is not eligible: {'; '.join(reasons)}")
        if not take_place(uow, scheme, person.id):
            ctx.exhausted_quotas.note(scheme_code)
            raise _exhausted(scheme_code)
        key = ctx.keys.ensure_active_key(scheme.region_code)
        rows = _voucher_rows(
            scheme,
            rules,
            [(person.id, person.household_region, person.target_groups_mask)],
            key,
            now,
        )
        _write_issued(ctx, uow, scheme, rows, now)
        if not count_place_taken(uow, scheme):
            ctx.exhausted_quotas.note(scheme_code)
            raise _exhausted(scheme_code)
        uow.commit()
    row = rows[0]
    return IssuedVoucher(
        row["id"], scheme_code, row["face_value_fen"], row["valid_until"], row["credential"]
    )


def _exhausted(scheme_code: str) -> QuotaExhausted:
    return QuotaExhausted(f"the quota of scheme {scheme_code} is exhausted")


def _push_condition(
    scheme: Scheme, rules: SchemeRules, today: date, after: uuid.UUID | None = None
) -> sa.ColumnElement[bool]:
    """Eligible now and not yet holding a voucher of this scheme (after the person ``after``)."""
    year_start = start_of_local_year(today)
    return sa.and_(
        eligibility_condition(rules, today, year_start, people_after=after),
        not_yet_holding(scheme.id, after),
    )


def eligible_count(ctx: AppContext, scheme_code: str) -> int:
    """How many people a push would reach now (before the quota cuts it)."""
    today = local_date(ctx.clock())
    with ctx.unit_of_work() as uow:
        scheme = uow.schemes.by_code(scheme_code)
        if scheme is None:
            raise NotFound(f"scheme {scheme_code} is not known")
        return uow.people.count_matching(_push_condition(scheme, rules_of(scheme.rules), today))


def push_issue(
    ctx: AppContext,
    scheme_code: str,
    progress: Callable[[int, int], None] | None = None,
) -> PushResult:
    """Issue to every eligible person, in chunks of one transaction each.

    Safe to re-run or resume after a crash: people who already hold a voucher of the scheme
    are not selected again, and each chunk commits its vouchers, ledger and audit together.
    On PostgreSQL two chunks are written at once, each on a connection (and a server process)
    of its own; chunks cover disjoint ranges of people, so they never meet.
    """
    quota_before = _quota_left(ctx, scheme_code)
    total = min(eligible_count(ctx, scheme_code), quota_before)
    workers = _PUSH_WORKERS if ctx.engine.dialect.name == "postgresql" else 1
    issued = 0

    def done(count: int) -> None:
        nonlocal issued
        issued += count
        if progress is not None:
            progress(issued, total)

    # Safe to run again (retries.py): each attempt selects afresh, in its transaction, the
    # people of its span who are eligible and hold no voucher of the scheme yet; a chunk whose
    # commit landed unseen finds nobody left and issues nothing.
    with _older_objects_left_alone():
        run_spans(
            _push_spans(ctx, scheme_code),
            partial(_run_chunk, ctx, scheme_code),
            done,
            workers=workers,
            name="push",
        )
    quota_after = _quota_left(ctx, scheme_code)
    # Counted by the quota, not the chunks: a chunk whose commit landed although its connection
    # broke (retried, and found done) is issued all the same. Only a push reserves this quota.
    return PushResult(quota_before - quota_after, eligible_count(ctx, scheme_code), quota_after)


@contextmanager
def _older_objects_left_alone() -> Iterator[None]:
    """Keep the objects that exist before the push out of Python's full collections during it.

    A chunk holds thousands of rows for its whole transaction, so a full collection comes
    every few chunks, and each walks every object of the process (the app's modules, mappers
    and caches: hundreds of thousands). That was 40 % of the push's Python time (160 of
    410 ms for 34,569 vouchers). Frozen (``gc.freeze``), the old objects are skipped; the
    push's own garbage is collected as before, and the old objects go back to the oldest
    generation when the push ends. Another thread's garbage among them waits until then.
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _push_spans(ctx: AppContext, scheme_code: str) -> Iterator[Span]:
    """The push's spans, in order of person id, until nobody is left or the quota or the
    budget (whichever runs out first) is spent: a span they cannot cover in full is cut.
    Each span is drawn (by its chunk) before the next is made."""
    with ctx.unit_of_work() as uow:
        scheme = _push_scheme(uow, scheme_code)
        rules = rules_of(scheme.rules)
        left = min(
            scheme.quota - scheme.issued_count, scheme.available_fen // rules.face_value.max_fen
        )
    after = None
    while left > 0:
        span = Span(after, min(ctx.settings.chunk_size, left))
        yield span
        if not span.is_drawn:
            raise AssertionError("a push span was not drawn before the next one")
        if span.last is None:
            return
        left -= span.count
        after = span.last


def _run_chunk(ctx: AppContext, scheme_code: str, span: Span) -> int:
    return retry_chunk(ctx, "push issuance", partial(_push_chunk, ctx, scheme_code, span))


def _push_chunk(ctx: AppContext, scheme_code: str, span: Span) -> int:
    """One chunk of a push in one transaction; returns the vouchers it issued."""
    now = ctx.clock()
    today = local_date(now)
    with ctx.unit_of_work() as uow:
        scheme = _push_scheme(uow, scheme_code)
        rules = rules_of(scheme.rules)
        condition = _push_condition(scheme, rules, today, span.after)
        if span.is_drawn:
            if span.last is None:
                return 0
            within = sa.and_(condition, Person.id <= span.last)
            people = uow.people.matching_chunk(within, span.after, span.count)
        else:
            people = uow.people.matching_chunk(condition, span.after, span.limit)
            span.draw(people[-1][0] if people else None, len(people))
        if not people:
            return 0
        _write_pushed(ctx, uow, scheme, rules, people, now)
        # Last, so that the scheme row, which every chunk updates, is locked only for the
        # commit: the chunks' writing overlaps. Only a push takes a push scheme's quota and
        # the spans stay within it, so this falls short only if another push of the same
        # scheme runs at the same time; that chunk is then undone and the push stops.
        if uow.schemes.reserve_quota(scheme.id, len(people)) != len(people):
            raise QuotaExhausted(f"the quota of scheme {scheme_code} ran out meanwhile")
        uow.commit()
    return len(people)


def _push_scheme(uow: UnitOfWork, scheme_code: str) -> Scheme:
    scheme = _active_scheme(uow, scheme_code)
    if scheme.issuance_mode is not IssuanceMode.PUSH:
        raise InvalidInput(
            f"scheme {scheme_code} issues by {scheme.issuance_mode.value}, not by push"
        )
    return scheme


def _write_pushed(
    ctx: AppContext,
    uow: UnitOfWork,
    scheme: Scheme,
    rules: SchemeRules,
    people: Sequence[tuple[uuid.UUID, str, int]],
    now: datetime,
) -> None:
    """Issue to ``people`` (id, household, groups) in the caller's transaction: their vouchers,
    one commitment journal for them all, one audit event naming them.

    Nothing is signed here: a voucher's code is signed the first time it is shown
    (``voucher_codes.py``), so a push of millions costs no signatures up front and a voucher
    never looked at costs none at all. The claims are fixed at issue all the same: they are
    the voucher row's own fields.
    """
    group_of: dict[int, str | None] = {}
    # Ids as text: COPY takes the rows as text, and a text id costs a tenth of a uuid.UUID
    # spelled out (``bulk_copy.text_id``).
    ids = [text_id() for _ in people]
    holders: list[tuple[uuid.UUID | str, uuid.UUID, str, str | None]] = []
    for voucher_id, (person_id, household_region, mask) in zip(ids, people, strict=True):
        if mask not in group_of:
            group_of[mask] = _group_value(qualifying_group(rules, mask_to_groups(mask)))
        holders.append((voucher_id, person_id, household_region, group_of[mask]))
    face = rules.face_value.max_fen
    uow.vouchers.insert_batch(
        IssuedBatch(
            scheme_id=scheme.id,
            region_code=scheme.region_code,
            province_code=scheme.province_code,
            face_value_fen=face,
            issued_at=now,
            valid_until=rules.validity.valid_until(now),
            holders=holders,
        )
    )
    uow.ledger.commit_batch(scheme.region_code, scheme.id, [(v, face) for v in ids], now)
    # One event per chunk, not per voucher: the chunk's vouchers are exactly the scheme's
    # vouchers issued at this instant, with ids from first_voucher to last_voucher and holders
    # from first_holder to last_holder, ``vouchers`` of them (a push scheme issues no other
    # way). The holders' range keeps two chunks written at once apart when they share an
    # instant (a fixed clock) and their ids interleave; the chained event makes the record
    # tamper-evident like any other. Text ids in canonical form (fixed width, lowercase) sort
    # as the UUIDs do.
    holder_ids = [h[1] for h in holders]
    uow.audit.record(
        at=now,
        actor=ctx.actor,
        action=PUSHED_ACTION,
        entity_type="scheme",
        entity_id=scheme.id,
        region_code=scheme.region_code,
        payload={
            "scheme": scheme.code,
            "vouchers": len(holders),
            "value_fen": face,
            "first_voucher": min(ids),
            "last_voucher": max(ids),
            "first_holder": str(min(holder_ids)),
            "last_holder": str(max(holder_ids)),
        },
    )


def _quota_left(ctx: AppContext, scheme_code: str) -> int:
    with ctx.unit_of_work() as uow:
        scheme = uow.schemes.by_code(scheme_code)
        if scheme is None:
            raise NotFound(f"scheme {scheme_code} is not known")
        return scheme.quota - scheme.issued_count


@dataclass(frozen=True)
class RosterOutcome:
    line: int
    masked_id: str
    voucher_id: uuid.UUID | None
    reason: str | None
    code: str | None = None
    """The refusal's stable error code (``not_eligible``, ``already_exists``…); None if issued."""


def issue_for_enterprise(
    ctx: AppContext,
    scheme_code: str,
    enterprise_credit_code: str,
    roster: Iterable[tuple[int, str]],
) -> list[RosterOutcome]:
    """An enterprise requests vouchers for named employees: one transaction per employee, and
    a line for each saying what was issued or exactly why not."""
    outcomes = []
    for line, resident_id in roster:
        masked = "-"
        try:
            masked = mask_resident_id(parse_resident_id(resident_id).number)
            issued = issue_to_person(ctx, scheme_code, resident_id, enterprise_credit_code)
            outcomes.append(RosterOutcome(line, masked, issued.voucher_id, None))
        except DomainError as error:
            outcomes.append(RosterOutcome(line, masked, None, error.message, error.code))
    return outcomes
