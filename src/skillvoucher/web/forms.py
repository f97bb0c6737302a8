"""Form input for the pages: parsed by a Pydantic model, with errors shown next to each field
in the person's language, and domain errors (a stable code) shown as a sentence they can read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from skillvoucher.api.problems import title_of
from skillvoucher.domain.errors import DomainError
from skillvoucher.web.i18n import ENGLISH, N_, translate

Model = TypeVar("Model", bound=BaseModel)

# Pydantic's error types, as sentences a person understands; anything else is "not valid".
FIELD_MESSAGES = {
    "missing": N_("This field is required."),
    "string_too_short": N_("This field is required."),
    "string_too_long": N_("This is too long."),
    "string_pattern_mismatch": N_("This is not in the expected format."),
    "int_parsing": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "float_parsing": N_("Enter a number."),
    "decimal_parsing": N_("Enter an amount such as 1200 or 1200.50."),
    "greater_than": N_("This must be larger."),
    "greater_than_equal": N_("This must be larger."),
    "less_than": N_("This must be smaller."),
    "less_than_equal": N_("This must be smaller."),
    "date_from_datetime_parsing": N_("Enter a date as YYYY-MM-DD."),
    "date_parsing": N_("Enter a date as YYYY-MM-DD."),
    "datetime_from_date_parsing": N_("Enter a date and time."),
    "datetime_parsing": N_("Enter a date and time."),
    "uuid_parsing": N_("This is not a valid identifier."),
    "enum": N_("Choose one of the options."),
    "literal_error": N_("Choose one of the options."),
}
NOT_VALID = N_("This value is not valid.")


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def field_errors(error: ValidationError, language: str) -> dict[str, str]:
    """The first error of each field, in ``language``, keyed by the field's name."""
    errors: dict[str, str] = {}
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "__all__"
        if field not in errors:
            custom = item.get("ctx", {}).get("error")
            if isinstance(custom, FieldProblem):
                errors[field] = translate(language, custom.message)
            else:
                errors[field] = translate(language, FIELD_MESSAGES.get(item["type"], NOT_VALID))
    return errors


class FieldProblem(ValueError):
    """Raised by a model's validator with a catalogue message, so the person reads it in their
    language (Pydantic's own messages are English only)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_form(model: type[Model], form: FormData | Mapping[str, Any], language: str) -> Model:
    """``form`` checked by ``model``; FormInvalid with field errors in ``language`` if not.
    Empty fields count as missing, as a person who left a box empty would expect."""
    values = {
        key: value
        for key, value in form.items()
        if not (isinstance(value, str) and value.strip() == "")
    }
    try:
        return model.model_validate(values)
    except ValidationError as error:
        raise FormInvalid(field_errors(error, language)) from None


def error_sentence(error: DomainError, language: str) -> str:
    """A domain error as the person reads it: its title in their language; in English the
    specific detail too (details are written in English)."""
    title = title_of(error.code, english=language == ENGLISH)
    return f"{title}: {error.message}" if language == ENGLISH else title
