"""The scheme editor's form: flat HTML fields checked one by one (errors in the person's
language), then turned into the same scheme document a YAML file or the API sends.

Money is typed in yuan and becomes fen exactly (Decimal, at most two decimals): never a float.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)
from starlette.datastructures import FormData

from skillvoucher.application.scheme_files import (
    MAX_BUDGET_FEN,
    MAX_FACE_VALUE_FEN,
    MAX_QUOTA,
    SchemeDoc,
)
from skillvoucher.domain.catalogue import CourseMode, SkillLevel
from skillvoucher.domain.errors import DomainError
from skillvoucher.domain.identity import validate_credit_code
from skillvoucher.domain.money import yuan_string
from skillvoucher.domain.occupations import validate_occupation_code
from skillvoucher.domain.people import TargetGroup
from skillvoucher.domain.regions import validate_region_code
from skillvoucher.domain.schemes import IssuanceMode, SchemeType
from skillvoucher.domain.settlement import Evidence
from skillvoucher.web.forms import FieldProblem, FormInvalid, field_errors, parse_form
from skillvoucher.web.i18n import N_, translate

# Fields that hold several values (checkboxes); the others take the form's one value.
LIST_FIELDS = ("target_groups", "exclude_groups", "levels", "modes")
FLAG_FIELDS = ("one_active_voucher", "once_per_occupation_level")
STAGE_FIELDS = {evidence: f"stage_{evidence.value}" for evidence in Evidence}
LEVEL_FIELDS = {level: f"face_level_{level.value}" for level in SkillLevel}


def _fen(yuan: Decimal | None) -> Decimal | None:
    if yuan is None:
        return None
    if yuan <= 0:
        raise FieldProblem(N_("Enter an amount above zero."))
    if yuan != yuan.quantize(Decimal("0.01")):
        raise FieldProblem(N_("Enter yuan with at most two decimals (fen)."))
    return yuan


Yuan = Annotated[Decimal | None, AfterValidator(_fen)]


def fen_of(yuan: Decimal) -> int:
    """Yuan with at most two decimals as an exact number of fen."""
    return int(yuan * 100)


def _codes(text: str | None) -> list[str]:
    """Codes typed into one box, separated by commas, semicolons, spaces or new lines."""
    if not text:
        return []
    for separator in ",;，；、\n\r\t":
        text = text.replace(separator, " ")
    return list(dict.fromkeys(text.split()))


class SchemeForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{2,39}$")
    name: str = Field(min_length=2, max_length=120)
    region: str
    type: SchemeType
    issuance: IssuanceMode
    target_groups: list[TargetGroup] = []
    exclude_groups: list[TargetGroup] = []
    min_age: int | None = Field(default=None, ge=16, le=100)
    max_age: int | None = Field(default=None, ge=16, le=100)
    household_regions: str | None = Field(default=None, max_length=2000)
    max_vouchers_per_year: int | None = Field(default=None, gt=0, le=1000)
    one_active_voucher: bool = False
    once_per_occupation_level: bool = False
    occupations: str | None = Field(default=None, max_length=4000)
    levels: list[SkillLevel] = []
    modes: list[CourseMode] = []
    institutions: str | None = Field(default=None, max_length=4000)
    face_value_yuan: Yuan = None
    face_level_5: Yuan = None
    face_level_4: Yuan = None
    face_level_3: Yuan = None
    face_level_2: Yuan = None
    face_level_1: Yuan = None
    face_level_special: Yuan = None
    face_level_completion: Yuan = None
    quota: int = Field(gt=0, le=MAX_QUOTA)
    budget_yuan: Yuan
    validity_days: int | None = Field(default=None, gt=0, le=3650)
    valid_until: date | None = None
    stage_enrolment: int | None = Field(default=None, ge=0, le=100)
    stage_attendance: int | None = Field(default=None, ge=0, le=100)
    stage_completion: int | None = Field(default=None, ge=0, le=100)
    stage_certificate: int | None = Field(default=None, ge=0, le=100)
    min_attendance_percent: int = Field(default=80, ge=0, le=100)

    @field_validator("code", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        return _checked(validate_region_code, value, N_("Choose a region."))

    @field_validator("household_regions")
    @classmethod
    def _household_regions(cls, value: str | None) -> str | None:
        for code in _codes(value):
            _checked(validate_region_code, code, N_("Enter six-digit region codes."))
        return value

    @field_validator("occupations")
    @classmethod
    def _occupations(cls, value: str | None) -> str | None:
        for code in _codes(value):
            _checked(
                validate_occupation_code, code, N_("Enter occupation codes such as 4-10-01-02.")
            )
        return value

    @field_validator("institutions")
    @classmethod
    def _institutions(cls, value: str | None) -> str | None:
        for code in _codes(value):
            _checked(
                validate_credit_code, code, N_("Enter 18-character unified social credit codes.")
            )
        return value

    @field_validator("budget_yuan")
    @classmethod
    def _budget(cls, value: Decimal | None) -> Decimal | None:
        if value is None:
            raise FieldProblem(N_("This field is required."))
        if fen_of(value) > MAX_BUDGET_FEN:
            raise FieldProblem(N_("This must be smaller."))
        return value

    def problems(self) -> dict[str, str]:
        """Problems of fields taken together (catalogue messages), at the field a person would
        correct; found once every field is right on its own."""
        problems: dict[str, str] = {}
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            problems["max_age"] = N_("The highest age is below the lowest.")
        by_level = self.face_by_level()
        if self.face_value_yuan is None and not by_level:
            problems["face_value_yuan"] = N_("Give a face value, or a value for each level.")
        elif self.face_value_yuan is not None and by_level:
            problems["face_value_yuan"] = N_("Give one face value or values by level, not both.")
        elif any(fen > MAX_FACE_VALUE_FEN for fen in self.face_fen_values()):
            problems["face_value_yuan"] = N_("This must be smaller.")
        if self.validity_days is None and self.valid_until is None:
            problems["validity_days"] = N_("Give a number of days, a last day, or both.")
        stages = self.stage_percents()
        if sum(stages.values()) != 100:
            problems["stages"] = N_("The stages' percentages must add up to 100.")
        if self.type is SchemeType.ENTERPRISE and self.issuance is not IssuanceMode.APPLICATION:
            problems["issuance"] = N_("Enterprise schemes issue on the enterprise's application.")
        return problems

    def face_by_level(self) -> dict[SkillLevel, Decimal]:
        found = {level: getattr(self, name) for level, name in LEVEL_FIELDS.items()}
        return {level: value for level, value in found.items() if value is not None}

    def face_fen_values(self) -> list[int]:
        values = [*self.face_by_level().values()]
        if self.face_value_yuan is not None:
            values.append(self.face_value_yuan)
        return [fen_of(v) for v in values]

    def stage_percents(self) -> dict[Evidence, int]:
        found = {evidence: getattr(self, name) for evidence, name in STAGE_FIELDS.items()}
        return {evidence: p for evidence, p in found.items() if p}

    def document(self) -> dict[str, Any]:
        """The scheme document (as in a scheme file) this form describes."""
        face: dict[str, Any] = (
            {"fixed_fen": fen_of(self.face_value_yuan)}
            if self.face_value_yuan is not None
            else {"by_level": {lvl.value: fen_of(v) for lvl, v in self.face_by_level().items()}}
        )
        validity: dict[str, Any] = {}
        if self.validity_days is not None:
            validity["days"] = self.validity_days
        if self.valid_until is not None:
            validity["until"] = self.valid_until.isoformat()
        assert self.budget_yuan is not None  # checked by _budget
        return {
            "code": self.code,
            "name": self.name.strip(),
            "region": self.region,
            "type": self.type.value,
            "issuance": self.issuance.value,
            "quota": self.quota,
            "budget_fen": fen_of(self.budget_yuan),
            "face_value": face,
            "validity": validity,
            "eligibility": {
                "target_groups": [g.value for g in self.target_groups],
                "exclude_groups": [g.value for g in self.exclude_groups],
                "min_age": self.min_age,
                "max_age": self.max_age,
                "household_regions": _codes(self.household_regions),
                "max_vouchers_per_year": self.max_vouchers_per_year,
                "one_active_voucher": self.one_active_voucher,
                "once_per_occupation_level": self.once_per_occupation_level,
            },
            "courses": {
                "occupations": _codes(self.occupations),
                "levels": [lvl.value for lvl in self.levels],
                "modes": [m.value for m in self.modes],
                "institutions": [code.upper() for code in _codes(self.institutions)],
            },
            "settlement": {
                "stages": [
                    {"evidence": e.value, "percent": p} for e, p in self.stage_percents().items()
                ],
                "min_attendance_percent": self.min_attendance_percent,
            },
        }


def _checked(validator: Any, value: str, message: str) -> str:
    try:
        return str(validator(value))
    except DomainError:
        raise FieldProblem(message) from None


def form_values(form: FormData) -> dict[str, Any]:
    """The submitted values, with the checkbox groups as lists and unticked flags as False."""
    values: dict[str, Any] = {key: value for key, value in form.items() if key not in LIST_FIELDS}
    for name in LIST_FIELDS:
        values[name] = [v for v in form.getlist(name) if isinstance(v, str) and v]
    for name in FLAG_FIELDS:
        values[name] = name in form
    return values


def scheme_from_form(values: Mapping[str, Any], language: str) -> SchemeDoc:
    """The scheme document of the editor's values, or FormInvalid with every field's problem
    in ``language`` (``stages`` names the settlement stages as a group)."""
    form = parse_form(SchemeForm, values, language)
    problems = form.problems()
    if problems:
        raise FormInvalid({field: translate(language, m) for field, m in problems.items()})
    try:
        return SchemeDoc.model_validate(form.document())
    except ValidationError as error:
        # The form checks what the document checks; anything left is shown at its field.
        errors = field_errors(error, language)
        raise FormInvalid({_FIELD_OF_DOC.get(k, k): v for k, v in errors.items()}) from None


_FIELD_OF_DOC = {"budget_fen": "budget_yuan", "face_value": "face_value_yuan"}


def values_of_document(document: Mapping[str, Any]) -> dict[str, Any]:
    """The editor's values showing a stored scheme document (to change a draft): the inverse
    of ``SchemeForm.document``."""
    elig, courses = document["eligibility"], document["courses"]
    face, validity, settlement = (
        document["face_value"],
        document["validity"],
        document["settlement"],
    )
    values: dict[str, Any] = {
        "code": document["code"],
        "name": document["name"],
        "region": document["region"],
        "type": document["type"],
        "issuance": document["issuance"],
        "target_groups": list(elig["target_groups"]),
        "exclude_groups": list(elig["exclude_groups"]),
        "min_age": _text(elig["min_age"]),
        "max_age": _text(elig["max_age"]),
        "household_regions": ", ".join(elig["household_regions"]),
        "max_vouchers_per_year": _text(elig["max_vouchers_per_year"]),
        "one_active_voucher": elig["one_active_voucher"],
        "once_per_occupation_level": elig["once_per_occupation_level"],
        "occupations": ", ".join(courses["occupations"]),
        "levels": list(courses["levels"]),
        "modes": list(courses["modes"]),
        "institutions": ", ".join(courses["institutions"]),
        "face_value_yuan": yuan_string(face["fixed_fen"]) if face["fixed_fen"] else "",
        "quota": str(document["quota"]),
        "budget_yuan": yuan_string(document["budget_fen"]),
        "validity_days": _text(validity["days"]),
        "valid_until": _text(validity["until"]),
        "min_attendance_percent": str(settlement["min_attendance_percent"]),
    }
    for level, fen in face["by_level"].items():
        values[LEVEL_FIELDS[SkillLevel(level)]] = yuan_string(fen)
    for stage in settlement["stages"]:
        values[STAGE_FIELDS[Evidence(stage["evidence"])]] = str(stage["percent"])
    return values


def _text(value: object) -> str:
    return "" if value is None else str(value)
