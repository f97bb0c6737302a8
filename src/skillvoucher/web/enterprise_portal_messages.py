"""The enterprise portal's words for what the use cases answer: each roster line's outcome and
the eligibility rule behind it, a refused roster file, a voucher's status.

The domain words eligibility rules in English (the API and CLI show them as they are); HR reads
them here in their language, matched rule by rule. A rule this table does not know yet is shown
as the domain words it rather than hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from skillvoucher.application.enterprise_portal import LineOutcome, Outcome
from skillvoucher.application.enterprise_portal_roster import RosterProblem, RosterRefused
from skillvoucher.domain.vouchers import VoucherStatus
from skillvoucher.web.i18n import ENGLISH, N_, translate

OUTCOME_LABELS = {
    Outcome.ISSUED: N_("Voucher issued"),
    Outcome.NOT_ELIGIBLE: N_("Not eligible"),
    Outcome.NOT_AN_EMPLOYEE: N_("Not an employee of this enterprise"),
    Outcome.ALREADY_HOLDS: N_("Already holds a voucher of this scheme"),
    Outcome.QUOTA_EXHAUSTED: N_("The scheme's quota is used up"),
    Outcome.INVALID_ID: N_("Invalid resident ID number"),
    Outcome.NOT_IN_REGISTRY: N_("Not in the registry"),
    Outcome.DUPLICATE: N_("Listed twice in this roster"),
    Outcome.OTHER: N_("Not issued"),
}

STATUS_LABELS = {
    VoucherStatus.ISSUED: N_("Not yet used"),
    VoucherStatus.ENROLLED: N_("Enrolled"),
    VoucherStatus.IN_TRAINING: N_("In training"),
    VoucherStatus.COMPLETED: N_("Completed"),
    VoucherStatus.SETTLED: N_("Settled"),
    VoucherStatus.EXPIRED: N_("Expired"),
    VoucherStatus.REVOKED: N_("Revoked"),
}

REFUSALS = {
    RosterProblem.NOT_A_SPREADSHEET: N_(
        "This is not an XLSX file. Save the roster as an Excel workbook (.xlsx) or as CSV and "
        "upload it again."
    ),
    RosterProblem.UNREADABLE: N_(
        "The file could not be read. Open it in Excel, save it again as .xlsx and upload it again."
    ),
    RosterProblem.NO_ID_COLUMN: N_(
        "The roster has no column of resident ID numbers. Head the column 公民身份号码 (or "
        "身份证号, or Resident ID number), as in the template."
    ),
    RosterProblem.EMPTY: N_("The roster lists nobody."),
    RosterProblem.TOO_MANY_ROWS: N_(
        "The roster has more than %(limit)s lines. Split it into several files."
    ),
}

NO_FILE = N_("Choose the roster file.")
SAME_AS_LINE = N_("The same person as line %(line)s: requested once.")
CHECK_THE_NUMBER = N_("Check the number: 18 characters, the last one a digit or X.")

# Eligibility rules (domain/schemes.py ineligibility_reasons), matched whole.
RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"no active electronic social security card"), N_("no active e-SSC")),
    (
        re.compile(r"household region outside the scheme"),
        N_("household outside the scheme's region"),
    ),
    (
        re.compile(r"not in any of the scheme's target groups"),
        N_("not in a target group of the scheme"),
    ),
    (re.compile(r"in an excluded group"), N_("in a group the scheme excludes")),
    (re.compile(r"younger than (?P<n>\d+)"), N_("younger than %(n)s")),
    (re.compile(r"older than (?P<n>\d+)"), N_("older than %(n)s")),
    (
        re.compile(r"already received (?P<n>\d+) vouchers this year"),
        N_("already received %(n)s vouchers this year"),
    ),
    (re.compile(r"already holds an open voucher"), N_("already holds a voucher not yet used up")),
]


def rule_sentence(rule: str, language: str) -> str:
    for pattern, message in RULES:
        found = pattern.fullmatch(rule)
        if found:
            return translate(language, message) % found.groupdict()
    return rule


def why_not(line: LineOutcome, language: str) -> str:
    """The detail after the outcome's label: which rules, which line, what to check."""
    explain: dict[Outcome, Callable[[], str]] = {
        Outcome.NOT_ELIGIBLE: lambda: ("；" if language != ENGLISH else "; ").join(
            rule_sentence(rule, language) for rule in line.rules
        ),
        Outcome.DUPLICATE: lambda: translate(language, SAME_AS_LINE) % {"line": line.first_line},
        Outcome.INVALID_ID: lambda: translate(language, CHECK_THE_NUMBER),
        # The use case's own words (English) for anything unforeseen: better than nothing.
        Outcome.OTHER: lambda: line.detail if language == ENGLISH else "",
    }
    return explain[line.outcome]() if line.outcome in explain else ""


def refusal_sentence(refused: RosterRefused, language: str, limit: int) -> str:
    return translate(language, REFUSALS[refused.problem]) % {"limit": limit}
