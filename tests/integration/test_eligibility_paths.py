"""Eligibility has two implementations: Python for one person (``ineligibility_reasons``) and SQL
for bulk targeting (``eligibility_condition``). They must select exactly the same people."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from builders import (
    Clock,
    credit_code,
    deposit,
    facts_of,
    import_people,
    make_context,
    make_scheme,
    person,
    scheme_document,
)
from skillvoucher.application import issuance, lifecycle
from skillvoucher.application.context import AppContext
from skillvoucher.application.scheme_files import parse_scheme_document
from skillvoucher.demo.synthetic import SyntheticPerson
from skillvoucher.domain.errors import AlreadyExists, NotEligible
from skillvoucher.domain.people import CardStatus, TargetGroup
from skillvoucher.domain.schemes import HolderHistory, SchemeType, ineligibility_reasons
from skillvoucher.domain.timekeeping import SHANGHAI, local_date, start_of_local_day
from skillvoucher.persistence.eligibility_sql import eligibility_condition, not_yet_holding
from skillvoucher.persistence.tables import Person

HOMES = ("140100", "140105", "140106", "140200", "140300", "110000")
SCOPES = ("140000", "140100", "140105", "140200", "110000", "140700")
SCHEME_REGIONS = ("140100", "140000", "140105")
EMPLOYERS = (credit_code("140100", "enterprise"), credit_code("140200", "enterprise"))
TODAYS = (date(2026, 3, 2), date(2026, 2, 28), date(2028, 2, 29), date(2027, 3, 1))
LEAP_BIRTHDAYS = tuple(date(year, 2, 29) for year in range(1956, 2013, 4))
PRIOR_SCHEMES = ("PRIOR-0", "PRIOR-1", "PRIOR-2")
GROUPS = tuple(g.value for g in TargetGroup)
# Scheme age limits and people's birthdays come from one short list, so that examples often
# hold someone whose birthday is today at exactly a limit: where off-by-one errors live.
AGES = (16, 18, 35, 60, 65)


@dataclass(frozen=True)
class PersonSpec:
    birth_date: date
    region: str
    groups: frozenset[TargetGroup]
    card_status: CardStatus
    employer: str | None


@dataclass(frozen=True)
class Prior:
    """A voucher of another scheme the person received before: when, and whether revoked."""

    holder: int
    scheme: int
    when: str  # "last_year_end", "this_year_start" or "today"
    revoked: bool


@dataclass(frozen=True)
class Scenario:
    today: date
    people: list[PersonSpec]
    prior: list[Prior]
    scheme: dict[str, Any]
    enterprise: str | None


@dataclass
class History:
    issued_at: list[datetime] = field(default_factory=list)  # of vouchers not revoked


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return date(day.year - years, 2, 28)


def birth_dates(today: date) -> st.SearchStrategy[date]:
    around_a_birthday = st.builds(
        lambda age, shift: years_before(today, age) + timedelta(days=shift),
        st.sampled_from(AGES),
        st.integers(-1, 1),
    )
    anywhere = st.dates(years_before(today, 75), years_before(today, 14))
    return st.one_of(around_a_birthday, st.sampled_from(LEAP_BIRTHDAYS), anywhere)


def eligibility_documents() -> st.SearchStrategy[dict[str, Any]]:
    groups = st.lists(st.sampled_from(GROUPS), unique=True, max_size=4)
    ages = st.sampled_from(AGES)
    return st.fixed_dictionaries(
        {},
        optional={
            "target_groups": groups,
            "exclude_groups": groups,
            "min_age": ages,
            "max_age": ages,
            "household_regions": st.lists(st.sampled_from(SCOPES), unique=True, max_size=3),
            "max_vouchers_per_year": st.integers(1, 3),
            "one_active_voucher": st.booleans(),
        },
    ).filter(_ages_in_order)


def _ages_in_order(eligibility: dict[str, Any]) -> bool:
    return bool(eligibility.get("min_age", 0) <= eligibility.get("max_age", 100))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    today = draw(st.sampled_from(TODAYS))
    spec = st.builds(
        PersonSpec,
        birth_date=birth_dates(today),
        # Mostly people a Taiyuan scheme could reach, so that the paths have much to agree on.
        region=st.one_of(st.sampled_from(HOMES[:3]), st.sampled_from(HOMES)),
        groups=st.frozensets(st.sampled_from(TargetGroup), max_size=3),
        card_status=st.one_of(st.just(CardStatus.ACTIVE), st.sampled_from(CardStatus)),
        employer=st.sampled_from((None, *EMPLOYERS)),
    )
    people = draw(st.lists(spec, min_size=20, max_size=40))
    prior = draw(
        st.lists(
            st.builds(
                Prior,
                holder=st.integers(0, len(people) - 1),
                scheme=st.integers(0, len(PRIOR_SCHEMES) - 1),
                when=st.sampled_from(("last_year_end", "this_year_start", "today")),
                revoked=st.booleans(),
            ),
            max_size=12,
        )
    )
    kind = draw(st.sampled_from(("individual", "individual", "enterprise")))
    scheme = {
        "code": "TARGET",
        "region": draw(st.sampled_from(SCHEME_REGIONS)),
        "type": kind,
        "issuance": "application" if kind == "enterprise" else "push",
        "eligibility": draw(eligibility_documents()),
    }
    return Scenario(today, people, prior, scheme, draw(st.sampled_from((None, *EMPLOYERS))))


def moment(scenario: Scenario, when: str) -> datetime:
    year_start = start_of_local_day(date(scenario.today.year, 1, 1))
    if when == "last_year_end":
        return year_start - timedelta(minutes=1)
    if when == "this_year_start":
        return year_start + timedelta(minutes=1)
    return datetime.combine(scenario.today, time(10), tzinfo=SHANGHAI).astimezone(UTC)


def give_prior_vouchers(
    ctx: AppContext, clock: Clock, scenario: Scenario, people: list[SyntheticPerson]
) -> dict[str, History]:
    """Issue (and revoke) vouchers of other schemes; returns each ID digest's history."""
    order = {"last_year_end": 0, "this_year_start": 1, "today": 2}
    histories = {ctx.digest(p.resident_id): History() for p in people}
    for prior in sorted(scenario.prior, key=lambda p: order[p.when]):
        clock.set(moment(scenario, prior.when))
        holder = people[prior.holder]
        try:
            issued = issuance.issue_to_person(ctx, PRIOR_SCHEMES[prior.scheme], holder.resident_id)
        except AlreadyExists:
            continue  # one voucher per person and scheme
        except NotEligible:
            assert holder.ssc_card_status != CardStatus.ACTIVE
            continue
        if prior.revoked:
            lifecycle.revoke_voucher(ctx, issued.voucher_id, "test history")
        else:
            histories[ctx.digest(holder.resident_id)].issued_at.append(clock.now)
    return histories


def check_paths_agree(ctx: AppContext, clock: Clock, scenario: Scenario) -> set[int]:
    """Build the registry and history of ``scenario``, then compare SQL and Python selections.

    Returns the positions in ``scenario.people`` of those both paths select.
    """
    clock.set(moment(scenario, "last_year_end") - timedelta(hours=1))
    people = [
        person(
            birth_date=s.birth_date,
            region=s.region,
            groups=s.groups,
            card_status=s.card_status,
            employer=s.employer,
        )
        for s in scenario.people
    ]
    import_people(ctx, people)
    deposit(ctx, 10_000_000, region="140000")
    for code in PRIOR_SCHEMES:
        make_scheme(
            ctx,
            code=code,
            region="140000",
            quota=100,
            budget_fen=100_000,
            face_value={"fixed_fen": 1_000},
            validity={"days": 400},
            eligibility={"household_regions": ["140000", "110000"], "one_active_voucher": False},
        )
    histories = give_prior_vouchers(ctx, clock, scenario, people)
    clock.set(moment(scenario, "today"))
    today = clock.today
    assert today == scenario.today
    year_start = start_of_local_day(date(today.year, 1, 1))

    target = make_scheme(ctx, launch=False, **scenario.scheme)
    rules = parse_scheme_document(scheme_document(**scenario.scheme)).to_rules()
    assert rules == target.rules
    with ctx.unit_of_work() as uow:
        scheme = uow.schemes.by_code(target.code)
        assert scheme is not None
        condition = sa.and_(
            eligibility_condition(rules, today, year_start, scenario.enterprise),
            not_yet_holding(scheme.id),
        )
        by_sql = set(uow.session.scalars(sa.select(Person.id_digest).where(condition)))
        # The history the Python path is given is the one the repository reports.
        for digest, done in histories.items():
            person_id = uow.session.scalar(sa.select(Person.id).where(Person.id_digest == digest))
            assert person_id is not None
            assert uow.people.history(person_id, year_start) == expected_history(done, today)

    by_python: set[str] = set()
    for p in people:
        digest = ctx.digest(p.resident_id)
        history = expected_history(histories[digest], today)
        if not ineligibility_reasons(rules, facts_of(p), history, today, scenario.enterprise):
            by_python.add(digest)

    assert by_sql == by_python, explain(ctx, people, by_sql, by_python)
    # What a push would reach: eligible_count passes no enterprise, so enterprise schemes reach
    # nobody by push.
    reach = len(by_sql) if rules.type is SchemeType.INDIVIDUAL else 0
    assert issuance.eligible_count(ctx, target.code) == reach
    return {i for i, p in enumerate(people) if ctx.digest(p.resident_id) in by_sql}


def expected_history(history: History, today: date) -> HolderHistory:
    """The voucher history a person has, computed from what this test did to them."""
    return HolderHistory(
        vouchers_this_year=sum(local_date(at).year == today.year for at in history.issued_at),
        has_open_voucher=bool(history.issued_at),
    )


def explain(
    ctx: AppContext, people: list[SyntheticPerson], by_sql: set[str], by_python: set[str]
) -> str:
    rows = []
    for p in people:
        digest = ctx.digest(p.resident_id)
        if (digest in by_sql) != (digest in by_python):
            rows.append(f"{p} sql={digest in by_sql} python={digest in by_python}")
    return "paths disagree on:\n" + "\n".join(rows)


# --- Tests -------------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(
    max_examples=30,
    deadline=None,
    # fresh_database hands out a new database per call, so sharing it between examples is safe.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_sql_and_python_paths_select_the_same_people(
    scenario: Scenario,
    fresh_database: Callable[[], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    clock = Clock()
    ctx = make_context(fresh_database(), tmp_path_factory.mktemp("eligibility"), clock)
    try:
        selected = check_paths_agree(ctx, clock, scenario)
        event("selected " + ("nobody" if not selected else "1-4" if len(selected) < 5 else "5+"))
    finally:
        ctx.close()


def fixed_scenario() -> Scenario:
    """Edges written out: birthdays on the day, leap days, year boundaries, every region level."""
    today = date(2028, 2, 29)
    groups = frozenset({TargetGroup.UNEMPLOYED})
    active = CardStatus.ACTIVE

    def spec(
        born: date,
        region: str = "140105",
        groups: frozenset[TargetGroup] = groups,
        card: CardStatus = active,
        employer: str | None = None,
    ) -> PersonSpec:
        return PersonSpec(born, region, groups, card, employer)

    people = [
        spec(date(2010, 2, 28)),  # turned 18 yesterday
        spec(date(2010, 3, 1)),  # 17 until tomorrow
        spec(date(2012, 2, 29)),  # 16 today, on a leap day
        spec(date(1968, 2, 29)),  # 60 today
        spec(date(1967, 2, 28)),  # 61
        spec(date(1990, 5, 5), region="140200"),
        spec(date(1990, 5, 5), region="140100"),
        spec(date(1990, 5, 5), card=CardStatus.INACTIVE),
        spec(date(1990, 5, 5), groups=frozenset({TargetGroup.UNEMPLOYED, TargetGroup.DISABLED})),
        spec(date(1990, 5, 5), groups=frozenset({TargetGroup.EMPLOYEE}), employer=EMPLOYERS[0]),
        spec(date(1990, 5, 5)),  # history: one voucher last year (at 23:59 on 31 December)
        spec(date(1990, 5, 5)),  # history: one voucher this year (00:01 on 1 January)
        spec(date(1990, 5, 5)),  # history: a revoked voucher this year
        spec(date(1990, 5, 5)),  # history: two vouchers this year
    ]
    prior = [
        Prior(10, 0, "last_year_end", revoked=False),
        Prior(11, 0, "this_year_start", revoked=False),
        Prior(12, 0, "today", revoked=True),
        Prior(13, 0, "this_year_start", revoked=False),
        Prior(13, 1, "today", revoked=False),
    ]
    scheme = {
        "code": "TARGET",
        "region": "140100",
        "type": "individual",
        "issuance": "push",
        "eligibility": {
            "target_groups": ["unemployed", "employee"],
            "exclude_groups": ["disabled"],
            "min_age": 18,
            "max_age": 60,
            "max_vouchers_per_year": 2,
            "one_active_voucher": False,
        },
    }
    return Scenario(today, people, prior, scheme, None)


def test_fixed_scenario_paths_agree(ctx: AppContext, clock: Clock) -> None:
    scenario = fixed_scenario()
    selected = check_paths_agree(ctx, clock, scenario)
    # The 18- and 60-year-olds, the city household, the employee, and the holders of a voucher
    # from last year, of one from this year and of a revoked one.
    assert selected == {0, 3, 6, 9, 10, 11, 12}
