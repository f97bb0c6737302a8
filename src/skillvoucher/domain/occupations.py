"""Occupations from the 2022 edition of the national occupational classification.

Training courses and vouchers name the occupation they train for by its code, ``D-DD-DD-DD``
(major group, middle group, minor group, occupation), e.g. ``6-18-02-04`` for welder.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from importlib import resources

from skillvoucher.domain.errors import InvalidInput

_CODE = re.compile(r"[0-9]-[0-9]{2}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Occupation:
    code: str
    name: str
    name_en: str


def validate_occupation_code(code: str) -> str:
    """Return ``code`` without surrounding spaces if it has the ``D-DD-DD-DD`` form.

    Raises ``InvalidInput`` otherwise. Only the form is checked, not membership of the list.
    """
    text = code.strip()
    if not _CODE.fullmatch(text):
        raise InvalidInput(f"occupation code {text!r} must look like 6-18-02-04")
    return text


@functools.cache
def _load_builtin_occupations() -> tuple[Occupation, ...]:
    path = resources.files("skillvoucher.data").joinpath("occupations.csv")
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    return tuple(
        Occupation(validate_occupation_code(row["code"]), row["name"], row["name_en"])
        for row in rows
    )


def builtin_occupations() -> list[Occupation]:
    """The occupations shipped with the package (those commonly subsidised), in code order."""
    return list(_load_builtin_occupations())
