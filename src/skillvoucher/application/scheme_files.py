"""Scheme definitions as documents (YAML files now, API bodies later), checked field by field."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from skillvoucher.domain.catalogue import CourseMode, SkillLevel
from skillvoucher.domain.errors import DomainError, InvalidScheme
from skillvoucher.domain.identity import validate_credit_code
from skillvoucher.domain.occupations import validate_occupation_code
from skillvoucher.domain.people import TargetGroup
from skillvoucher.domain.regions import validate_region_code
from skillvoucher.domain.schemes import (
    CourseRules,
    Eligibility,
    FaceValue,
    IssuanceMode,
    SchemeRules,
    SchemeType,
    Validity,
)
from skillvoucher.domain.settlement import Evidence, Stage

# Upper bounds keep every number inside the columns that store it (and far above any real
# scheme), so an absurd document is a 422, never a database overflow.
MAX_QUOTA = 100_000_000
MAX_FACE_VALUE_FEN = 1_000_000_000  # ten million yuan
MAX_BUDGET_FEN = 100_000_000_000_000  # one trillion yuan
MAX_LIST = 1_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FaceValueDoc(_Strict):
    fixed_fen: int | None = Field(default=None, gt=0, le=MAX_FACE_VALUE_FEN)
    by_level: dict[SkillLevel, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        if (self.fixed_fen is None) == (not self.by_level):
            raise ValueError("give either fixed_fen or by_level, not both or neither")
        if any(not 0 < v <= MAX_FACE_VALUE_FEN for v in self.by_level.values()):
            raise ValueError(
                f"every by_level value must be a positive number of fen up to {MAX_FACE_VALUE_FEN}"
            )
        return self


class ValidityDoc(_Strict):
    days: int | None = Field(default=None, gt=0, le=3650)
    until: date | None = None

    @model_validator(mode="after")
    def _some_end(self) -> Self:
        if self.days is None and self.until is None:
            raise ValueError("give days, until, or both")
        return self


class EligibilityDoc(_Strict):
    target_groups: list[TargetGroup] = Field(default_factory=list, max_length=MAX_LIST)
    exclude_groups: list[TargetGroup] = Field(default_factory=list, max_length=MAX_LIST)
    min_age: int | None = Field(default=None, ge=16, le=100)
    max_age: int | None = Field(default=None, ge=16, le=100)
    household_regions: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    max_vouchers_per_year: int | None = Field(default=None, gt=0, le=MAX_LIST)
    one_active_voucher: bool = True
    once_per_occupation_level: bool = True

    @field_validator("household_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        return [_domain_check(validate_region_code, code) for code in value]

    @model_validator(mode="after")
    def _ages(self) -> Self:
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise ValueError("min_age is above max_age")
        return self


class CoursesDoc(_Strict):
    occupations: list[str] = Field(default_factory=list, max_length=MAX_LIST)
    levels: list[SkillLevel] = Field(default_factory=list, max_length=MAX_LIST)
    modes: list[CourseMode] = Field(default_factory=list, max_length=MAX_LIST)
    institutions: list[str] = Field(default_factory=list, max_length=MAX_LIST)

    @field_validator("occupations")
    @classmethod
    def _occupations(cls, value: list[str]) -> list[str]:
        return [_domain_check(validate_occupation_code, code) for code in value]

    @field_validator("institutions")
    @classmethod
    def _institutions(cls, value: list[str]) -> list[str]:
        return [_domain_check(validate_credit_code, code) for code in value]


class StageDoc(_Strict):
    evidence: Evidence
    percent: int = Field(gt=0, le=100)


class SettlementDoc(_Strict):
    stages: list[StageDoc] = Field(min_length=1, max_length=MAX_LIST)
    min_attendance_percent: int = Field(default=80, ge=0, le=100)

    @model_validator(mode="after")
    def _whole(self) -> Self:
        if sum(s.percent for s in self.stages) != 100:
            raise ValueError("stage percents must add up to 100")
        if len({s.evidence for s in self.stages}) != len(self.stages):
            raise ValueError("each kind of evidence may pay one stage only")
        return self


class SchemeDoc(_Strict):
    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{2,39}$")
    name: str = Field(min_length=2, max_length=120)
    region: str
    type: SchemeType
    issuance: IssuanceMode
    quota: int = Field(gt=0, le=MAX_QUOTA)
    budget_fen: int = Field(gt=0, le=MAX_BUDGET_FEN)
    face_value: FaceValueDoc
    validity: ValidityDoc
    eligibility: EligibilityDoc = Field(default_factory=EligibilityDoc)
    courses: CoursesDoc = Field(default_factory=CoursesDoc)
    settlement: SettlementDoc

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return _domain_check(validate_region_code, value)

    @model_validator(mode="after")
    def _enterprise_on_application(self) -> Self:
        if self.type is SchemeType.ENTERPRISE and self.issuance is not IssuanceMode.APPLICATION:
            raise ValueError("enterprise schemes issue on application (the enterprise's request)")
        return self

    def to_rules(self) -> SchemeRules:
        elig, courses = self.eligibility, self.courses
        return SchemeRules(
            code=self.code,
            name=self.name,
            region_code=self.region,
            type=self.type,
            issuance=self.issuance,
            quota=self.quota,
            budget_fen=self.budget_fen,
            face_value=FaceValue(self.face_value.fixed_fen, dict(self.face_value.by_level)),
            validity=Validity(self.validity.days, self.validity.until),
            eligibility=Eligibility(
                target_groups=frozenset(elig.target_groups),
                excluded_groups=frozenset(elig.exclude_groups),
                min_age=elig.min_age,
                max_age=elig.max_age,
                household_regions=tuple(elig.household_regions),
                max_vouchers_per_year=elig.max_vouchers_per_year,
                one_active_voucher=elig.one_active_voucher,
                once_per_occupation_level=elig.once_per_occupation_level,
            ),
            courses=CourseRules(
                occupations=frozenset(courses.occupations),
                levels=frozenset(courses.levels),
                modes=frozenset(courses.modes),
                institutions=frozenset(courses.institutions),
            ),
            stages=tuple(Stage(s.evidence, s.percent) for s in self.settlement.stages),
            min_attendance_percent=self.settlement.min_attendance_percent,
        )


def _domain_check(validator: Any, value: str) -> str:
    # Domain validators raise DomainError; pydantic reports ValueError at the right field.
    try:
        return str(validator(value))
    except DomainError as error:
        raise ValueError(error.message) from None


def parse_scheme_document(data: object) -> SchemeDoc:
    try:
        return SchemeDoc.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'document'}: {e['msg']}"
            for e in error.errors()
        )
        raise InvalidScheme(f"scheme definition is invalid: {problems}") from None


def load_scheme_file(path: Path) -> SchemeDoc:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidScheme(f"cannot read {path}: {error.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidScheme(f"{path} is not valid YAML: {error}") from None
    return parse_scheme_document(data)


def rules_of(stored: dict[str, Any]) -> SchemeRules:
    """Rebuild rules from the JSON document stored with the scheme."""
    return SchemeDoc.model_validate(stored).to_rules()
