"""Demo data generators: valid identifiers, determinism and consistent target groups."""

from __future__ import annotations

from collections import Counter
from datetime import date
from random import Random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skillvoucher.demo.synthetic import (
    MAX_AGE,
    MIN_AGE,
    TARGET_GROUPS,
    SyntheticPerson,
    generate_chinese_name,
    generate_credit_code,
    generate_enterprise_name,
    generate_institution_name,
    generate_mobile,
    generate_people,
    generate_resident_id,
)
from skillvoucher.domain.errors import InvalidInput, InvalidRegionCode
from skillvoucher.domain.identity import (
    Sex,
    age_on,
    parse_resident_id,
    validate_credit_code,
    validate_mobile,
)

TODAY = date(2025, 6, 1)
SHANXI_CITIES = [f"14{n:02d}00" for n in range(1, 12)]
seeds = st.integers(min_value=0, max_value=2**32)


def is_cjk(text: str) -> bool:
    return all("\u4e00" <= char <= "\u9fff" for char in text)


@given(
    seeds,
    st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    st.sampled_from(Sex),
    st.sampled_from(["140105", "110101", "650102"]),
)
def test_generated_resident_ids_validate(seed: int, born: date, sex: Sex, prefix: str) -> None:
    number = generate_resident_id(Random(seed), prefix, born, sex)
    parsed = parse_resident_id(number, today=TODAY)
    assert (parsed.region_prefix, parsed.birth_date, parsed.sex) == (prefix, born, sex)


def test_resident_id_needs_a_valid_region_prefix() -> None:
    with pytest.raises(InvalidRegionCode):
        generate_resident_id(Random(1), "990101", date(1990, 1, 1), Sex.MALE)


@given(seeds, st.sampled_from(["140100", "140105", "110000"]))
def test_generated_credit_codes_validate(seed: int, region: str) -> None:
    enterprise = generate_credit_code(Random(seed), region, "enterprise")
    school = generate_credit_code(Random(seed), region, "school")
    for code, head in ((enterprise, "91"), (school, "52")):
        assert validate_credit_code(code) == code
        assert code[:2] == head
        assert code[2:8] == region


@given(seeds)
def test_generated_mobiles_validate(seed: int) -> None:
    mobile = generate_mobile(Random(seed))
    assert validate_mobile(mobile) == mobile


@given(seeds, st.sampled_from([None, Sex.MALE, Sex.FEMALE]))
def test_generated_names_are_two_to_four_chinese_characters(seed: int, sex: Sex | None) -> None:
    name = generate_chinese_name(Random(seed), sex)
    assert 2 <= len(name) <= 4
    assert is_cjk(name)


def test_surnames_follow_real_frequencies() -> None:
    rng = Random(7)
    surnames = Counter(generate_chinese_name(rng)[0] for _ in range(20_000))
    top = {surname for surname, _ in surnames.most_common(5)}
    assert top == {"王", "李", "张", "刘", "陈"}


def test_organisation_names() -> None:
    rng = Random(3)
    school = generate_institution_name(rng, "大同市", "家政服务")
    assert school.startswith("大同市")
    assert school.endswith("培训学校")
    assert generate_institution_name(rng, "太原市", "").endswith("职业技能培训学校")
    company = generate_enterprise_name(rng, "太原市")
    assert company.startswith("太原")
    assert not company.startswith("太原市")
    assert company.endswith("公司")


# --- People ------------------------------------------------------------------------------------


def people(count: int, seed: int = 11, employers: int = 50) -> list[SyntheticPerson]:
    rng = Random(seed)
    employer_codes = [generate_credit_code(rng, "140100") for _ in range(employers)]
    return list(generate_people(rng, count, SHANXI_CITIES, employer_codes, TODAY))


@pytest.fixture(scope="module")
def crowd() -> list[SyntheticPerson]:
    return people(20_000)


def test_people_are_deterministic() -> None:
    assert people(300, seed=5) == people(300, seed=5)
    assert people(300, seed=5) != people(300, seed=6)


def test_every_person_is_valid(crowd: list[SyntheticPerson]) -> None:
    assert len(crowd) == 20_000
    for person in crowd:
        parsed = parse_resident_id(person.resident_id, today=TODAY)
        assert MIN_AGE <= age_on(parsed.birth_date, TODAY) <= MAX_AGE
        assert person.household_region in SHANXI_CITIES
        assert parsed.region_prefix[:4] == person.household_region[:4]
        assert 1 <= int(parsed.region_prefix[4:]) <= 12
        assert validate_mobile(person.mobile) == person.mobile
        assert is_cjk(person.name)
        assert person.ssc_card_status in {"active", "inactive", "none"}


def test_ids_and_mobiles_are_unique(crowd: list[SyntheticPerson]) -> None:
    assert len({p.resident_id for p in crowd}) == len(crowd)
    assert len({p.mobile for p in crowd}) == len(crowd)


def test_ids_stay_unique_when_everyone_shares_a_city() -> None:
    rng = Random(2)
    crowd = list(generate_people(rng, 30_000, ["140100"], [], TODAY))
    assert len({p.resident_id for p in crowd}) == len(crowd)


def test_target_groups_are_consistent(crowd: list[SyntheticPerson]) -> None:
    jobless = {"unemployed", "laid_off", "unemployed_graduate", "school_leaver"}
    for person in crowd:
        groups = set(person.target_groups)
        assert len(groups) == len(person.target_groups) <= 3
        assert groups <= set(TARGET_GROUPS)
        assert ("employee" in groups) == (person.employer_credit_code is not None)
        if groups & jobless:
            assert person.employer_credit_code is None
        age = age_on(parse_resident_id(person.resident_id, today=TODAY).birth_date, TODAY)
        if "college_graduate" in groups:
            assert 21 <= age <= 25
        if "unemployed_graduate" in groups:
            assert 22 <= age <= 27
        if "school_leaver" in groups:
            assert age <= 19


def test_group_frequencies_are_plausible(crowd: list[SyntheticPerson]) -> None:
    counts = Counter(group for person in crowd for group in person.target_groups)
    assert set(counts) == set(TARGET_GROUPS)
    assert counts["employee"] > counts["unemployed"] > counts["retired_soldier"]
    sizes = Counter(len(person.target_groups) for person in crowd)
    assert set(sizes) == {0, 1, 2, 3}
    soldiers = [p for p in crowd if "retired_soldier" in p.target_groups]
    men = [p for p in soldiers if parse_resident_id(p.resident_id, today=TODAY).sex is Sex.MALE]
    assert len(men) >= 0.8 * len(soldiers)
    active = sum(p.ssc_card_status == "active" for p in crowd) / len(crowd)
    assert 0.93 < active < 0.97


def test_without_employers_nobody_is_an_employee() -> None:
    assert all(p.employer_credit_code is None for p in people(2_000, employers=0))


def test_bad_arguments_raise_at_the_call() -> None:
    with pytest.raises(InvalidInput):
        generate_people(Random(1), 1, [], [], TODAY)
    with pytest.raises(InvalidInput):
        generate_people(Random(1), -1, SHANXI_CITIES, [], TODAY)
    with pytest.raises(InvalidRegionCode):
        generate_people(Random(1), 1, ["999900"], [], TODAY)


def test_leap_day_today_gives_ages_in_range() -> None:
    leap = date(2024, 2, 29)
    for person in generate_people(Random(4), 5_000, ["140100"], [], leap):
        born = parse_resident_id(person.resident_id, today=leap).birth_date
        assert MIN_AGE <= age_on(born, leap) <= MAX_AGE
