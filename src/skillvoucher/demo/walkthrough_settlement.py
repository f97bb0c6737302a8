"""After the walkthrough: one settlement batch in Taiyuan waiting for an administrator's
approval, so the console's review and approval can be tried at once.

A second registered Taiyuan resident (not the walkthrough's worker, whose voucher the worker
portal uses) receives a voucher of the walkthrough scheme, consents and enrols at the
walkthrough institution's course, checks in once, and a settlement run for this month builds
the institution's draft batch. Everything goes through the real use cases.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from pathlib import Path

from skillvoucher.application import enrolment, issuance, settlement, training
from skillvoucher.application.context import AppContext
from skillvoucher.demo.walkthrough import CITY, COURSE_CODE, Walkthrough
from skillvoucher.domain.attendance import AttendanceSource
from skillvoucher.domain.errors import DomainError
from skillvoucher.domain.timekeeping import local_date

ATTENDED_MINUTES = 240
CANDIDATES_TRIED = 50


def _taiyuan_residents(people_csv: Path, skip: str) -> Iterator[str]:
    """Taiyuan residents with an active card, from the end of the registry file (the start
    of it is where the other walkthroughs look for their people)."""
    with people_csv.open(encoding="utf-8", newline="") as handle:
        rows: list[str] = [
            row["resident_id"]
            for row in csv.DictReader(handle)
            if row["household_region"] == CITY
            and row.get("card_status", "active") == "active"
            and row["resident_id"] != skip
        ]
    return reversed(rows)


def _second_voucher(ctx: AppContext, folder: Path, walkthrough: Walkthrough) -> uuid.UUID:
    """A voucher of the walkthrough scheme for someone who may still receive one."""
    residents = _taiyuan_residents(folder / "people.csv", walkthrough.worker_id_number)
    for tried, resident_id in enumerate(residents, start=1):
        try:
            return issuance.issue_to_person(ctx, walkthrough.scheme_code, resident_id).voucher_id
        except DomainError:  # not eligible, or holds one already: the next person
            if tried >= CANDIDATES_TRIED:
                break
    raise LookupError(f"no Taiyuan resident in {folder / 'people.csv'} could receive a voucher")


def prepare_settlement_walkthrough(
    ctx: AppContext, folder: Path, walkthrough: Walkthrough
) -> uuid.UUID:
    """Build a draft settlement batch of the walkthrough institution for this month, with
    one trainee's enrolment stage in it; returns the batch's id."""
    voucher_id = _second_voucher(ctx, folder, walkthrough)
    consent = enrolment.grant_consent(ctx, voucher_id)
    enrolment.enrol(ctx, voucher_id, walkthrough.institution_code, COURSE_CODE, consent.code)
    now = ctx.clock()
    training.record_attendance(
        ctx,
        voucher_id,
        AttendanceSource.FACE,
        now,
        ATTENDED_MINUTES,
        f"DEV-WALK-{walkthrough.institution_code[-6:]}",
    )
    today = local_date(now)
    run = settlement.run_settlement(ctx, today.replace(day=1), today, walkthrough.institution_code)
    if not run.created:
        raise LookupError("the settlement run built no batch for the walkthrough institution")
    return run.created[0].batch_id
