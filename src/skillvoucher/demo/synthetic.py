"""Deterministic synthetic people, employers and training schools for the demo.

Every generator takes a ``random.Random``, so one seed gives the same data set every time.
``generate_people`` is built for millions of rows: tables are prepared once per call, and each
person costs a few dozen random draws and one check-character computation.
"""

from __future__ import annotations

import bisect
import itertools
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random
from typing import Literal, TypeVar

from skillvoucher.domain.errors import InvalidInput
from skillvoucher.domain.identity import (
    CREDIT_CODE_CHARS,
    Sex,
    credit_code_check_char,
    resident_id_check_char,
)
from skillvoucher.domain.regions import validate_region_code

TARGET_GROUPS = (
    "unemployed",
    "poverty_alleviated",
    "school_leaver",
    "rural_migrant_worker",
    "laid_off",
    "retired_soldier",
    "disabled",
    "college_graduate",
    "unemployed_graduate",
    "employee",
)
MIN_AGE = 16
MAX_AGE = 64
MAX_GROUPS = 3


@dataclass(frozen=True)
class SyntheticPerson:
    resident_id: str
    name: str
    mobile: str
    household_region: str
    ssc_card_status: str
    employer_credit_code: str | None
    target_groups: tuple[str, ...]


def _cumulative(weights: Sequence[float]) -> list[float]:
    return list(itertools.accumulate(weights))


_T = TypeVar("_T")


def _pick(rng: Random, items: Sequence[_T], cumulative: Sequence[float]) -> _T:
    return items[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


# --- Names -------------------------------------------------------------------------------------

# Common surnames with approximate shares of the population in per ten thousand (public
# security household-registration rankings); the long tail is flattened.
_SURNAME_SHARES = (
    ("王", 710), ("李", 700), ("张", 650), ("刘", 530), ("陈", 460), ("杨", 310), ("黄", 230),
    ("赵", 200), ("吴", 190), ("周", 190), ("徐", 130), ("孙", 120), ("马", 120), ("朱", 110),
    ("胡", 100), ("郭", 100), ("何", 90), ("林", 90), ("罗", 90), ("高", 90), ("郑", 80),
    ("梁", 70), ("谢", 60), ("宋", 60), ("唐", 60), ("许", 50), ("韩", 50), ("冯", 50),
    ("邓", 50), ("曹", 50), ("彭", 40), ("曾", 40), ("肖", 40), ("田", 40), ("董", 40),
    ("袁", 40), ("潘", 40), ("于", 40), ("蒋", 40), ("蔡", 40), ("余", 30), ("杜", 30),
    ("叶", 30), ("程", 30), ("苏", 30), ("魏", 30), ("吕", 30), ("丁", 30), ("任", 30),
    ("沈", 30), ("姚", 30), ("卢", 30), ("姜", 30), ("崔", 20), ("钟", 20), ("谭", 20),
    ("陆", 20), ("汪", 20), ("范", 20), ("金", 20), ("石", 20), ("廖", 20), ("贾", 20),
    ("夏", 20), ("韦", 20), ("付", 20), ("方", 20), ("白", 20), ("邹", 20), ("孟", 20),
    ("熊", 20), ("秦", 20), ("邱", 20), ("江", 20), ("尹", 20), ("薛", 20), ("闫", 20),
    ("段", 20), ("雷", 20), ("侯", 20), ("龙", 20), ("史", 20), ("陶", 10), ("黎", 10),
    ("贺", 10), ("顾", 10), ("毛", 10), ("郝", 10), ("龚", 10), ("邵", 10), ("万", 10),
    ("钱", 10), ("严", 10), ("武", 10), ("戴", 10), ("孔", 10), ("常", 10), ("温", 10),
    ("康", 10), ("牛", 10), ("樊", 10), ("乔", 10), ("霍", 10), ("申", 10), ("耿", 10),
    ("栗", 5), ("弓", 3), ("续", 3),
    # Two-character surnames are rare: together well under one in a thousand people.
    ("欧阳", 5), ("上官", 1), ("司马", 1), ("诸葛", 1), ("皇甫", 1), ("令狐", 1), ("尉迟", 1),
)  # fmt: skip
_SURNAMES = tuple(surname for surname, _ in _SURNAME_SHARES)
_SURNAME_CUMULATIVE = _cumulative([share for _, share in _SURNAME_SHARES])

_MALE_CHARS = (
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林阳建国志文亮成东海峰彬晨博泽昊"
    "然轩睿嘉豪振宏毅鸣雷晋永春兵庆德福荣贵生山江洋锋瑞子一天逸梓航铭哲思远信康"
)
_FEMALE_CHARS = (
    "芳娜敏静丽艳娟霞秀英玲燕婷雪琳慧颖倩洁莉萍红梅琴晶璐佳欣怡雨萱涵诗彤悦妍琪瑶婧蕾薇蓉岚"
    "璇菲雯露月欢凤兰桂珍华春丹宁晓梓一思可馨钰"
)
_ANY_CHARS = _MALE_CHARS + _FEMALE_CHARS
_SINGLE_CHAR_GIVEN_NAME = 0.25


def generate_chinese_name(rng: Random, sex: Sex | None = None) -> str:
    """A plausible name: a surname drawn by real-world frequency, then one or two given-name
    characters typical for ``sex`` (either sex when None)."""
    surname = _pick(rng, _SURNAMES, _SURNAME_CUMULATIVE)
    chars = _ANY_CHARS if sex is None else _MALE_CHARS if sex is Sex.MALE else _FEMALE_CHARS
    if rng.random() < _SINGLE_CHAR_GIVEN_NAME:
        return surname + chars[int(rng.random() * len(chars))]
    return surname + chars[int(rng.random() * len(chars))] + chars[int(rng.random() * len(chars))]


# --- Mobile numbers ----------------------------------------------------------------------------

# Three-digit prefixes allocated to the three mobile operators and virtual operators.
_MOBILE_PREFIXES = (
    *(f"13{n}" for n in range(10)),
    "145", "147",
    *(f"15{n}" for n in (0, 1, 2, 3, 5, 6, 7, 8, 9)),
    "166",
    *(f"17{n}" for n in (0, 1, 3, 5, 6, 7, 8)),
    *(f"18{n}" for n in range(10)),
    *(f"19{n}" for n in (1, 3, 5, 6, 7, 8, 9)),
)  # fmt: skip
_MOBILE_SUFFIXES = 10**8


def generate_mobile(rng: Random) -> str:
    """A random 11-digit mainland mobile number with a real operator prefix."""
    prefix = _MOBILE_PREFIXES[int(rng.random() * len(_MOBILE_PREFIXES))]
    return f"{prefix}{rng.randrange(_MOBILE_SUFFIXES):08d}"


# --- Identifiers -------------------------------------------------------------------------------


def _birth_digits(day: date) -> str:
    return f"{day.year:04d}{day.month:02d}{day.day:02d}"


def _resident_id(prefix: str, birth_digits: str, sequence: int) -> str:
    body = f"{prefix}{birth_digits}{sequence:03d}"
    return body + resident_id_check_char(body)


def generate_resident_id(rng: Random, region_prefix: str, birth_date: date, sex: Sex) -> str:
    """A valid resident ID number for the region, birth date and sex, with a random sequence
    number (odd 17th digit for men, even for women)."""
    prefix = validate_region_code(region_prefix)
    sequence = rng.randrange(500) * 2 + (1 if sex is Sex.MALE else 0)
    return _resident_id(prefix, _birth_digits(birth_date), sequence)


_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_NEW_ORG_CODE_SHARE = 0.7


def _org_code_check_char(first8: str) -> str:
    # GB 11714: digits count as themselves, letters A=10 … Z=35; MOD 11 with X for 10.
    total = sum(int(char, 36) * w for char, w in zip(first8, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else str(check % 11)


def generate_credit_code(
    rng: Random, region_code: str, kind: Literal["enterprise", "school"] = "enterprise"
) -> str:
    """A valid unified social credit code registered in ``region_code``.

    Enterprises get ``91`` (market regulator, enterprise); schools get ``52`` (civil affairs,
    private non-enterprise unit), the registration of most private vocational training
    schools. The embedded organisation code carries its own GB 11714 check character; it is
    new-style (``MA``/``MJ`` then six characters) or, for some enterprises, an older all-digit one.
    """
    region = validate_region_code(region_code)
    if kind == "school":
        head, series = "52", "MJ"
    else:
        head = "91"
        series = "MA" if rng.random() < _NEW_ORG_CODE_SHARE else ""
    chars = CREDIT_CODE_CHARS if series else "0123456789"
    organisation = series + "".join(rng.choice(chars) for _ in range(8 - len(series)))
    organisation += _org_code_check_char(organisation)
    first17 = head + region + organisation
    return first17 + credit_code_check_char(first17)


# --- Organisation names ------------------------------------------------------------------------

_SCHOOL_BRANDS = (
    "晋阳", "龙城", "并州", "汾河", "三晋", "太行", "华夏", "新华", "育才", "博学", "精诚", "德才",
    "启航", "金桥", "匠心", "恒信", "锦程", "明德", "众诚", "鑫源", "阳光", "宏图", "远航", "鼎盛",
)  # fmt: skip
_ENTERPRISE_BRANDS = (
    "晋能", "晋鑫", "恒达", "宏盛", "鑫源", "华晋", "同创", "金鼎", "瑞丰", "泰和", "永盛", "汇通",
    "天泽", "中诚", "新兴", "德润", "凯达", "聚源", "锦华", "兴业", "龙腾", "华瑞", "晋泰", "盛世",
)  # fmt: skip
_INDUSTRIES = (
    "煤业", "建设工程", "物流", "商贸", "餐饮管理", "物业管理", "机械制造", "化工", "电力工程",
    "食品", "科技", "农业开发", "建材", "纺织", "汽车服务", "家政服务", "医药", "信息技术",
    "钢铁", "酒店管理", "保安服务", "养老服务",
)  # fmt: skip
_COMPANY_FORMS = ("有限公司", "有限责任公司", "股份有限公司", "集团有限公司")
_COMPANY_FORM_CUMULATIVE = _cumulative([70, 20, 7, 3])


def generate_institution_name(rng: Random, city_name: str, specialty: str) -> str:
    """A training-school name such as 太原市晋阳职业技能培训学校 or 大同市育才家政服务职业培训学校.

    ``specialty`` (e.g. 家政服务, 烹饪) appears in most names; an empty one is left out.
    """
    brand = rng.choice(_SCHOOL_BRANDS)
    if not specialty or rng.random() < 0.3:
        return f"{city_name}{brand}职业技能培训学校"
    return f"{city_name}{brand}{specialty}职业培训学校"


def generate_enterprise_name(rng: Random, city_name: str) -> str:
    """A company name such as 太原晋能煤业有限公司: short place name, brand, trade, legal form."""
    place = city_name.removesuffix("市")
    brand = rng.choice(_ENTERPRISE_BRANDS)
    industry = rng.choice(_INDUSTRIES)
    return f"{place}{brand}{industry}{_pick(rng, _COMPANY_FORMS, _COMPANY_FORM_CUMULATIVE)}"


# --- People ------------------------------------------------------------------------------------

# Relative weight of each age 16..64: fewer teenagers still in school and fewer people close
# to retirement among those who come forward for training.
_AGE_WEIGHTS = [2 if age < 20 else 5 if age < 46 else 4 if age < 56 else 2 for age in range(16, 65)]
_AGE_CUMULATIVE = _cumulative(_AGE_WEIGHTS)
_DISTRICTS = 12
_SEQUENCES_PER_SEX = 500
_SLOTS = _DISTRICTS * _SEQUENCES_PER_SEX
# Multiplier coprime to _SLOTS (6000 = 2^4 * 3 * 5^3), so k -> k * _SLOT_STRIDE mod _SLOTS
# visits every slot once while consecutive people land in unrelated districts.
_SLOT_STRIDE = 2473
# Shifts where each (prefix, sex, day) starts, so first-comers are not all in district 01.
_SLOT_SHIFT = 7919
# Odd and not a multiple of 5, hence coprime to 10^8: i -> i * _MOBILE_STRIDE mod 10^8 is a
# permutation, which makes the mobile numbers of one call unique without remembering them.
_MOBILE_STRIDE = 73_939_133


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a common year
        return date(day.year - years, 2, 28)


def generate_people(
    rng: Random,
    count: int,
    city_codes: Sequence[str],
    employers: Sequence[str],
    today: date,
) -> Iterator[SyntheticPerson]:
    """Yield ``count`` people aged 16-64 on ``today``, living in ``city_codes`` (equally likely;
    repeat a code to weight it) and employed, if at all, by credit codes from ``employers``.

    Resident IDs and mobile numbers are unique within one call (of up to 10^8 people). ID
    numbers start with the city's first four digits and a district ``01``-``12``. Each person
    has 0-3 target groups, consistent with their age, sex and employment (see
    ``_target_groups``). Bad arguments raise at the call, not at the first person.
    """
    if not 0 <= count <= _MOBILE_SUFFIXES:
        raise InvalidInput(f"count must be between 0 and {_MOBILE_SUFFIXES}")
    if not city_codes:
        raise InvalidInput("at least one city code is needed")
    cities = [validate_region_code(code) for code in city_codes]
    return _people(rng, count, cities, employers, today)


def _people(
    rng: Random, count: int, cities: list[str], employers: Sequence[str], today: date
) -> Iterator[SyntheticPerson]:
    prefixes = sorted({code[:4] for code in cities})
    prefix_index = {prefix: i for i, prefix in enumerate(prefixes)}

    oldest = _years_before(today, MAX_AGE + 1) + timedelta(days=1)
    days = (today - oldest).days + 1
    birth_digits = [_birth_digits(oldest + timedelta(days=n)) for n in range(days)]
    # For each age from MIN_AGE up: the first and last day offset (from `oldest`) of the birth
    # dates that make someone exactly that age on `today`.
    age_windows = [
        (
            (_years_before(today, age + 1) - oldest).days + 1,
            (_years_before(today, age) - oldest).days,
        )
        for age in range(MIN_AGE, MAX_AGE + 1)
    ]
    # People already given each (ID prefix, sex, birth day): the next one takes the next slot.
    taken = array("H", bytes(2 * len(prefixes) * 2 * days))
    mobile_offset = rng.randrange(_MOBILE_SUFFIXES)
    random = rng.random

    for i in range(count):
        city = cities[int(random() * len(cities))]
        age = MIN_AGE + bisect.bisect(_AGE_CUMULATIVE, random() * _AGE_CUMULATIVE[-1])
        first_day, last_day = age_windows[age - MIN_AGE]
        day = first_day + int(random() * (last_day - first_day + 1))
        male = random() < 0.51
        key = ((prefix_index[city[:4]] * 2) + male) * days + day
        slot_number = taken[key]
        if slot_number >= _SLOTS:
            raise InvalidInput("too many people for one city, sex and birth date")
        taken[key] = slot_number + 1
        slot = (slot_number * _SLOT_STRIDE + key * _SLOT_SHIFT) % _SLOTS
        district, half_sequence = divmod(slot, _SEQUENCES_PER_SEX)
        resident_id = _resident_id(
            f"{city[:4]}{district + 1:02d}", birth_digits[day], half_sequence * 2 + male
        )
        prefix = _MOBILE_PREFIXES[int(random() * len(_MOBILE_PREFIXES))]
        suffix = (i * _MOBILE_STRIDE + mobile_offset) % _MOBILE_SUFFIXES
        employer, groups = _target_groups(rng, age, male, employers)
        status = random()
        yield SyntheticPerson(
            resident_id=resident_id,
            name=generate_chinese_name(rng, Sex.MALE if male else Sex.FEMALE),
            mobile=f"{prefix}{suffix:08d}",
            household_region=city,
            ssc_card_status="active" if status < 0.95 else "inactive" if status < 0.98 else "none",
            employer_credit_code=employer,
            target_groups=groups,
        )


def _target_groups(
    rng: Random, age: int, male: bool, employers: Sequence[str]
) -> tuple[str | None, tuple[str, ...]]:
    """Employer and target groups for one person.

    The employment situation comes first and decides the employer: school leavers (16-19),
    unemployed graduates (22-27), laid-off workers (35-60) and other unemployed people have
    none; "employee" is given exactly to those with an employer. Then independent traits:
    college graduate (21-25, not unemployed graduates), rural migrant worker (18-60), poverty
    alleviated, retired soldier (20-55, about nine in ten men) and disabled. The situation is
    listed first, so truncating to three groups never drops it.
    """
    random = rng.random
    groups: list[str] = []
    employer: str | None = None
    draw = random()
    if age <= 19 and draw < 0.45:
        groups.append("school_leaver")
    elif 22 <= age <= 27 and draw < 0.08:
        groups.append("unemployed_graduate")
        if random() < 0.5:
            groups.append("unemployed")
    elif 35 <= age <= 60 and draw < 0.06:
        groups.append("laid_off")
        if random() < 0.6:
            groups.append("unemployed")
    elif draw < 0.16:
        groups.append("unemployed")
    elif employers and random() < 0.65:
        employer = employers[int(random() * len(employers))]
        groups.append("employee")
    if 21 <= age <= 25 and "unemployed_graduate" not in groups and random() < 0.3:
        groups.append("college_graduate")
    if 18 <= age <= 60 and random() < 0.18:
        groups.append("rural_migrant_worker")
    if random() < 0.05:
        groups.append("poverty_alleviated")
    if 20 <= age <= 55 and random() < (0.04 if male else 0.004):
        groups.append("retired_soldier")
    if random() < 0.02:
        groups.append("disabled")
    return employer, tuple(groups[:MAX_GROUPS])
