"""Parsers for command-line values, and reading values that should not be typed as arguments."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path

import typer

from skillvoucher.domain.errors import InvalidInput

STDIN = "-"


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date like 2026-12-01") from None


def parse_moment(text: str) -> datetime:
    """An ISO 8601 time with its offset; a time without one is ambiguous, so it is refused."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a time like 2026-12-01T09:00+08:00") from None
    if moment.utcoffset() is None:
        raise typer.BadParameter(f"{text!r} needs a UTC offset, e.g. 2026-12-01T09:00+08:00")
    return moment


def read_text(source: Path | str, what: str) -> str:
    """The first non-blank line of a file (or of stdin for ``-``), stripped.

    For values kept out of shell history (resident ID numbers) or too long to type (voucher
    codes). Raises InvalidInput when there is none; OSError when the file cannot be read.
    """
    if str(source) == STDIN:
        text = sys.stdin.read()
        where = "standard input"
    else:
        text = Path(source).read_text(encoding="utf-8-sig")
        where = str(source)
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    raise InvalidInput(f"{where} holds no {what}")
