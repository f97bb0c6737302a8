"""Issuing vouchers: pushed to every eligible person, or to one person on application or claim."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from test_crash_safety import audited_issues

from builders import (
    CITY,
    OTHER_CITY,
    Clock,
    credit_code,
    deposit,
    facts_of,
    import_people,
    issue,
    make_scheme,
    person,
    scheme_document,
    synthetic_people,
)
from skillvoucher.application import issuance, schemes
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.application.previews import preview_scheme
from skillvoucher.application.scheme_files import parse_scheme_document
from skillvoucher.application.voucher_codes import voucher_code
from skillvoucher.credentials.tokens import verify_voucher
from skillvoucher.demo.synthetic import SyntheticPerson
from skillvoucher.domain.errors import (
    AlreadyExists,
    CredentialExpired,
    InsufficientFunds,
    InvalidInput,
    NotEligible,
    NotFound,
    QuotaExhausted,
    SchemeNotActive,
)
from skillvoucher.domain.ledger import Account
from skillvoucher.domain.people import CardStatus, TargetGroup
from skillvoucher.domain.schemes import HolderHistory, SchemeStatus, ineligibility_reasons
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.persistence.tables import Person, Scheme, Voucher

FACE = 150_000
PUSH_SCHEME: dict[str, Any] = {
    "code": "TY-2026-PUSH",
    "issuance": "push",
    "eligibility": {
        "target_groups": ["unemployed", "rural_migrant_worker", "school_leaver"],
        "min_age": 16,
        "max_age": 60,
    },
}


def holders(ctx: AppContext, scheme_code: str) -> set[str]:
    """ID digests of everyone holding a voucher of the scheme."""
    with ctx.unit_of_work() as uow:
        stmt = (
            sa.select(Person.id_digest)
            .join(Voucher, Voucher.person_id == Person.id)
            .join(Scheme, Scheme.id == Voucher.scheme_id)
            .where(Scheme.code == scheme_code)
        )
        return set(uow.session.scalars(stmt))


def vouchers_of(ctx: AppContext, scheme_code: str) -> list[Voucher]:
    with ctx.unit_of_work() as uow:
        stmt = sa.select(Voucher).join(Scheme).where(Scheme.code == scheme_code)
        return list(uow.session.scalars(stmt))


def balances(ctx: AppContext) -> dict[Account, int]:
    with ctx.unit_of_work() as uow:
        return uow.ledger.balances()


def expected_eligible(
    ctx: AppContext, clock: Clock, scheme_code: str, people: list[SyntheticPerson]
) -> set[str]:
    """The Python path: everyone ``ineligibility_reasons`` accepts, with no voucher history."""
    rules = schemes.get_scheme(ctx, scheme_code).rules
    fresh = HolderHistory(vouchers_this_year=0, has_open_voucher=False)
    return {
        ctx.digest(p.resident_id)
        for p in people
        if not ineligibility_reasons(rules, facts_of(p), fresh, clock.today)
    }


@pytest.fixture
def registry(ctx: AppContext) -> list[SyntheticPerson]:
    employers = [credit_code(CITY, "enterprise") for _ in range(5)]
    people = synthetic_people(600, seed=7, cities=[CITY, OTHER_CITY], employers=employers)
    import_people(ctx, people)
    deposit(ctx)
    return people


def test_push_reaches_exactly_the_eligible_people_and_is_rerunnable(
    ctx: AppContext, clock: Clock, registry: list[SyntheticPerson]
) -> None:
    scheme = make_scheme(ctx, **PUSH_SCHEME, quota=400, budget_fen=400 * FACE)
    expected = expected_eligible(ctx, clock, scheme.code, registry)
    # The registry mixes cities, cards, groups and ages, so the filter really filters.
    assert 60 < len(expected) < 400

    assert issuance.eligible_count(ctx, scheme.code) == len(expected)
    pushed = issuance.push_issue(ctx, scheme.code)

    assert pushed == issuance.PushResult(len(expected), 0, 400 - len(expected))
    assert holders(ctx, scheme.code) == expected
    issued = vouchers_of(ctx, scheme.code)
    wanted = {g.value for g in scheme.rules.eligibility.target_groups}
    for voucher in issued:
        assert voucher.status is VoucherStatus.ISSUED
        assert voucher.face_value_fen == FACE
        assert voucher.issued_at == clock.now
        assert voucher.valid_until == clock.now + timedelta(days=180)
        assert voucher.target_group in wanted
        assert voucher.holder_region == CITY
    assert schemes.get_scheme(ctx, scheme.code).issued_count == len(expected)
    assert balances(ctx)[Account.COMMITTED] == len(expected) * FACE
    assert ledger_problems(ctx) == []

    before = balances(ctx)
    again = issuance.push_issue(ctx, scheme.code)
    assert again == issuance.PushResult(0, 0, 400 - len(expected))
    assert len(vouchers_of(ctx, scheme.code)) == len(expected)
    assert balances(ctx) == before


@pytest.mark.parametrize("quota", [25, 60], ids=["within-a-chunk", "across-chunks"])
def test_push_stops_at_the_quota(
    ctx: AppContext, clock: Clock, registry: list[SyntheticPerson], quota: int
) -> None:
    scheme = make_scheme(ctx, **PUSH_SCHEME, quota=quota, budget_fen=quota * FACE)
    expected = expected_eligible(ctx, clock, scheme.code, registry)
    assert len(expected) > quota

    pushed = issuance.push_issue(ctx, scheme.code)

    assert pushed == issuance.PushResult(quota, len(expected) - quota, 0)
    reached = holders(ctx, scheme.code)
    assert len(reached) == quota
    assert reached <= expected
    assert schemes.get_scheme(ctx, scheme.code).issued_count == quota
    assert issuance.push_issue(ctx, scheme.code).issued == 0
    assert ledger_problems(ctx) == []


def test_push_stops_where_the_budget_runs_out(
    ctx: AppContext, clock: Clock, registry: list[SyntheticPerson]
) -> None:
    # The quota would allow everyone; the budget covers only 7 face values and a bit.
    scheme = make_scheme(ctx, **PUSH_SCHEME, quota=400, budget_fen=7 * FACE + FACE // 2)
    assert len(expected_eligible(ctx, clock, scheme.code, registry)) > 7

    pushed = issuance.push_issue(ctx, scheme.code)

    assert pushed.issued == 7
    assert schemes.get_scheme(ctx, scheme.code).available_fen == FACE // 2
    assert balances(ctx)[Account.COMMITTED] == 7 * FACE
    assert ledger_problems(ctx) == []


def test_push_refuses_a_scheme_that_does_not_issue_by_push(ctx: AppContext) -> None:
    deposit(ctx)
    scheme = make_scheme(ctx, issuance="claim")
    with pytest.raises(InvalidInput, match="not by push"):
        issuance.push_issue(ctx, scheme.code)


# --- One person at a time ----------------------------------------------------------------------


@pytest.fixture
def funded(ctx: AppContext) -> None:
    deposit(ctx)


def voucher_count(ctx: AppContext) -> int:
    with ctx.unit_of_work() as uow:
        return uow.session.scalar(sa.select(sa.func.count()).select_from(Voucher)) or 0


@pytest.mark.usefixtures("funded")
def test_single_issuance_refuses_people_who_are_not_eligible(ctx: AppContext) -> None:
    scheme = make_scheme(ctx, eligibility={"target_groups": ["unemployed"], "max_age": 50})
    employee = person(groups=[TargetGroup.EMPLOYEE], employer=credit_code(CITY, "enterprise"))
    no_card = person(card_status=CardStatus.NONE)
    elsewhere = person(region=OTHER_CITY)
    too_old = person(age=51)
    import_people(ctx, [employee, no_card, elsewhere, too_old])
    before = balances(ctx)

    for holder, reason in [
        (employee, "not in any of the scheme's target groups"),
        (no_card, "no active electronic social security card"),
        (elsewhere, "household region outside the scheme"),
        (too_old, "older than 50"),
    ]:
        with pytest.raises(NotEligible, match=reason) as caught:
            issue(ctx, scheme.code, holder)
        assert holder.resident_id not in caught.value.message

    assert voucher_count(ctx) == 0
    assert balances(ctx) == before
    assert schemes.get_scheme(ctx, scheme.code).issued_count == 0


@pytest.mark.usefixtures("funded")
def test_single_issuance_refuses_a_second_voucher_of_the_same_scheme(ctx: AppContext) -> None:
    scheme = make_scheme(ctx, eligibility={"one_active_voucher": False})
    holder = person()
    import_people(ctx, [holder])
    first = issue(ctx, scheme.code, holder)
    assert first.value_fen == FACE

    with pytest.raises(AlreadyExists):
        issue(ctx, scheme.code, holder)

    assert voucher_count(ctx) == 1
    assert schemes.get_scheme(ctx, scheme.code).issued_count == 1


@pytest.mark.usefixtures("funded")
def test_one_open_voucher_across_schemes(ctx: AppContext) -> None:
    first = make_scheme(ctx, code="TY-A")
    second = make_scheme(ctx, code="TY-B")
    relaxed = make_scheme(ctx, code="TY-C", eligibility={"one_active_voucher": False})
    holder = person()
    import_people(ctx, [holder])
    issue(ctx, first.code, holder)

    with pytest.raises(NotEligible, match="already holds an open voucher"):
        issue(ctx, second.code, holder)
    issue(ctx, relaxed.code, holder)

    assert voucher_count(ctx) == 2


@pytest.mark.usefixtures("funded")
def test_single_issuance_stops_at_the_quota(ctx: AppContext) -> None:
    scheme = make_scheme(ctx, issuance="claim", quota=2)
    people = [person() for _ in range(3)]
    import_people(ctx, people)
    issue(ctx, scheme.code, people[0])
    issue(ctx, scheme.code, people[1])

    with pytest.raises(QuotaExhausted):
        issue(ctx, scheme.code, people[2])

    assert schemes.get_scheme(ctx, scheme.code).issued_count == 2
    assert voucher_count(ctx) == 2
    assert ledger_problems(ctx) == []


@pytest.mark.usefixtures("funded")
def test_single_issuance_within_quota_but_beyond_budget_writes_nothing(ctx: AppContext) -> None:
    scheme = make_scheme(ctx, quota=5, budget_fen=FACE + FACE // 2)
    people = [person() for _ in range(2)]
    import_people(ctx, people)
    issue(ctx, scheme.code, people[0])

    with pytest.raises(InsufficientFunds):
        issue(ctx, scheme.code, people[1])

    view = schemes.get_scheme(ctx, scheme.code)
    assert (view.issued_count, view.available_fen) == (1, FACE // 2)
    assert voucher_count(ctx) == 1
    assert ledger_problems(ctx) == []


@pytest.mark.usefixtures("funded")
def test_single_issuance_needs_an_active_scheme(ctx: AppContext) -> None:
    draft = make_scheme(ctx, code="TY-DRAFT", launch=False)
    paused = make_scheme(ctx, code="TY-PAUSED")
    schemes.change_status(ctx, paused.code, SchemeStatus.PAUSED)
    closed = make_scheme(ctx, code="TY-CLOSED")
    schemes.change_status(ctx, closed.code, SchemeStatus.CLOSED)
    holder = person()
    import_people(ctx, [holder])

    for code, status in [(draft.code, "draft"), (paused.code, "paused"), (closed.code, "closed")]:
        with pytest.raises(SchemeNotActive, match=f"is {status}, not active"):
            issue(ctx, code, holder)
    with pytest.raises(NotFound):
        issue(ctx, "TY-NONE", holder)

    schemes.change_status(ctx, paused.code, SchemeStatus.ACTIVE)
    assert issue(ctx, paused.code, holder).scheme_code == paused.code
    assert voucher_count(ctx) == 1


@pytest.mark.usefixtures("funded")
def test_single_issuance_of_someone_not_in_the_registry(ctx: AppContext) -> None:
    scheme = make_scheme(ctx)
    stranger = person()
    with pytest.raises(NotFound, match="no person"):
        issue(ctx, scheme.code, stranger)


# --- Enterprise schemes ------------------------------------------------------------------------


@pytest.mark.usefixtures("funded")
def test_enterprise_scheme_issues_only_to_employees_of_the_requesting_enterprise(
    ctx: AppContext,
) -> None:
    ours, theirs = credit_code(CITY, "enterprise"), credit_code(CITY, "enterprise")
    scheme = make_scheme(
        ctx,
        code="TY-ENT",
        type="enterprise",
        issuance="application",
        eligibility={"target_groups": ["employee"]},
    )
    our_staff = [person(groups=[TargetGroup.EMPLOYEE], employer=ours) for _ in range(2)]
    their_staff = person(groups=[TargetGroup.EMPLOYEE], employer=theirs)
    jobless = person(groups=[TargetGroup.UNEMPLOYED])
    import_people(ctx, [*our_staff, their_staff, jobless])

    with pytest.raises(NotEligible, match="not an employee of the requesting enterprise"):
        issue(ctx, scheme.code, our_staff[0])  # nobody asked on their behalf
    with pytest.raises(NotEligible, match="not an employee of the requesting enterprise"):
        issue(ctx, scheme.code, their_staff, ours)
    issued = issue(ctx, scheme.code, our_staff[0], ours)

    outcomes = issuance.issue_for_enterprise(
        ctx,
        scheme.code,
        ours,
        [
            (2, our_staff[1].resident_id),
            (3, their_staff.resident_id),
            (4, jobless.resident_id),
            (5, "123"),
        ],
    )

    assert [o.line for o in outcomes] == [2, 3, 4, 5]
    assert outcomes[0].voucher_id is not None
    assert outcomes[0].reason is None
    assert outcomes[1].voucher_id is None
    assert "not an employee" in (outcomes[1].reason or "")
    assert outcomes[2].voucher_id is None
    assert "not an employee" in (outcomes[2].reason or "")
    assert outcomes[3].voucher_id is None
    assert outcomes[3].masked_id == "-"
    assert holders(ctx, scheme.code) == {ctx.digest(p.resident_id) for p in our_staff}
    assert issuance.eligible_count(ctx, scheme.code) == 0  # a push would reach nobody
    assert issued.voucher_id != outcomes[0].voucher_id

    # Another enterprise asking for our employee learns only that they are not theirs: not
    # that they already hold a voucher of the scheme, nor why else they might not qualify.
    (asked_by_them,) = issuance.issue_for_enterprise(
        ctx, scheme.code, theirs, [(2, our_staff[0].resident_id)]
    )
    assert asked_by_them.voucher_id is None
    assert asked_by_them.reason is not None
    assert asked_by_them.reason.endswith(
        "is not eligible: not an employee of the requesting enterprise"
    )


# --- Credentials -------------------------------------------------------------------------------


@pytest.mark.usefixtures("funded")
def test_issued_credential_verifies_offline(ctx: AppContext, clock: Clock) -> None:
    scheme = make_scheme(ctx, validity={"days": 30})
    holder = person()
    import_people(ctx, [holder])

    issued = issue(ctx, scheme.code, holder)
    claims = verify_voucher(issued.credential, ctx.keys.public_keys(), clock.now)

    assert claims.voucher_id == str(issued.voucher_id)
    assert claims.scheme_code == scheme.code
    assert claims.region_code == CITY
    assert claims.value_fen == FACE
    assert claims.valid_until == issued.valid_until.replace(microsecond=0)
    with ctx.unit_of_work() as uow:
        voucher = uow.vouchers.get(issued.voucher_id)
        assert voucher is not None
        assert voucher.credential == issued.credential
        # The credential names the holder by an opaque reference, never the ID number.
        assert claims.holder_ref == str(voucher.person_id)
        assert uuid.UUID(claims.holder_ref) == voucher.person_id
        assert voucher.key_id is not None
        assert voucher.key_id.startswith(CITY)
    assert holder.resident_id not in issued.credential

    clock.advance(timedelta(days=31))
    with pytest.raises(CredentialExpired):
        verify_voucher(issued.credential, ctx.keys.public_keys(), clock.now)


def test_every_pushed_credential_verifies(
    ctx: AppContext, clock: Clock, registry: list[SyntheticPerson]
) -> None:
    scheme = make_scheme(ctx, **PUSH_SCHEME, quota=60, budget_fen=60 * FACE)
    issuance.push_issue(ctx, scheme.code)
    issued = vouchers_of(ctx, scheme.code)
    assert len(issued) == 60
    # A push signs nothing: each code is signed the first time it is shown, then kept.
    assert all(v.credential is None and v.key_id is None for v in issued)
    for voucher in issued:
        code = voucher_code(ctx, voucher.id)
        keys = ctx.keys.public_keys()
        claims = verify_voucher(code, keys, clock.now)
        assert claims.voucher_id == str(voucher.id)
        assert claims.holder_ref == str(voucher.person_id)
        assert claims.scheme_code == scheme.code
        assert claims.value_fen == voucher.face_value_fen
        assert claims.issued_at == claims.valid_from == voucher.issued_at.replace(microsecond=0)
        assert claims.valid_until == voucher.valid_until.replace(microsecond=0)
        assert voucher_code(ctx, voucher.id) == code
    stored = {v.id: v for v in vouchers_of(ctx, scheme.code)}
    for voucher_id, voucher in stored.items():
        assert voucher.credential == voucher_code(ctx, voucher_id)
        assert voucher.key_id is not None
        assert voucher.key_id.startswith(CITY)


def test_a_stored_code_is_kept_and_never_replaced(
    ctx: AppContext, clock: Clock, registry: list[SyntheticPerson]
) -> None:
    scheme = make_scheme(ctx, **PUSH_SCHEME, quota=1, budget_fen=FACE)
    issuance.push_issue(ctx, scheme.code)
    [voucher] = vouchers_of(ctx, scheme.code)
    key = ctx.keys.ensure_active_key(voucher.region_code)
    # Another view stored its code between this one's read and its write: this one must
    # answer with the stored code, not overwrite it.
    with ctx.unit_of_work() as uow:
        assert uow.vouchers.store_credential(voucher.id, key.kid, "stored-first")
        uow.commit()
    assert voucher_code(ctx, voucher.id) == "stored-first"
    with ctx.unit_of_work() as uow:
        assert not uow.vouchers.store_credential(voucher.id, key.kid, "stored-second")
        uow.commit()
    assert voucher_code(ctx, voucher.id) == "stored-first"


def test_each_pushed_voucher_is_named_by_exactly_one_chunk_event(
    ctx: AppContext, clock: Clock, registry: list[SyntheticPerson]
) -> None:
    ctx.settings = ctx.settings.model_copy(update={"chunk_size": 10})
    scheme = make_scheme(ctx, **PUSH_SCHEME, quota=len(registry), budget_fen=len(registry) * FACE)
    issuance.push_issue(ctx, scheme.code)
    pushed = vouchers_of(ctx, scheme.code)
    # Several chunks (two at a time on PostgreSQL), all at the test clock's one instant: their
    # voucher ids may interleave, their holders' ranges cannot.
    assert len(pushed) > 2 * ctx.settings.chunk_size
    assert audited_issues(ctx, pushed[0].scheme_id) == Counter({str(v.id): 1 for v in pushed})


def test_launch_refuses_a_budget_the_fund_cannot_cover(ctx: AppContext) -> None:
    deposit(ctx, 1_000_000)
    with pytest.raises(InsufficientFunds):
        make_scheme(ctx, budget_fen=1_000_001)
    with pytest.raises(NotFound):
        schemes.get_scheme(ctx, "TY-2026-IND")  # nothing of the scheme was kept
    assert balances(ctx)[Account.FUND_AVAILABLE] == 1_000_000
    assert make_scheme(ctx, budget_fen=1_000_000).available_fen == 1_000_000
    assert ledger_problems(ctx) == []


@pytest.mark.usefixtures("funded")
def test_validity_ends_at_the_earlier_of_days_and_the_last_day(
    ctx: AppContext, clock: Clock
) -> None:
    relaxed = {"one_active_voucher": False}
    short = make_scheme(
        ctx, code="TY-UNTIL", validity={"days": 180, "until": "2026-04-30"}, eligibility=relaxed
    )
    long = make_scheme(
        ctx, code="TY-DAYS", validity={"days": 30, "until": "2026-12-31"}, eligibility=relaxed
    )
    holder = person()
    import_people(ctx, [holder])

    # 30 April ends at midnight in Shanghai, which is 16:00 UTC.
    until = issue(ctx, short.code, holder).valid_until
    assert until == datetime(2026, 4, 30, 15, 59, 59, tzinfo=UTC)
    assert issue(ctx, long.code, holder).valid_until == clock.now + timedelta(days=30)


def test_preview_counts_what_a_push_would_reach_before_the_scheme_exists(
    ctx: AppContext, clock: Clock, registry: list[SyntheticPerson]
) -> None:
    quota = 50
    document = parse_scheme_document(
        scheme_document(**PUSH_SCHEME, quota=quota, budget_fen=quota * FACE - 1)
    )

    preview = preview_scheme(ctx, document)

    scheme = schemes.create_scheme(ctx, document)
    expected = expected_eligible(ctx, clock, scheme.code, registry)
    assert preview.eligible == len(expected) > quota
    assert preview.reachable == quota
    assert preview.budget_needed_fen == quota * FACE
    assert not preview.budget_covers  # one fen short
