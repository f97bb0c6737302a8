"""``skillvoucher notices deliver --once``: the outbox is sent and the summary printed."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from cli_helpers import IssuedVoucher, write_catalogue

pytest_plugins = ("cli_fixtures",)


def test_deliver_once_sends_the_enrolment_notice(
    issued: IssuedVoucher, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = issued.workspace.run
    catalogue = write_catalogue(tmp_path)
    assert run("import", "institutions", str(catalogue.institutions)).exit_code == 0
    assert run("import", "courses", str(catalogue.courses)).exit_code == 0
    consent = run("voucher", "consent", issued.voucher_id)
    match = re.search(r"consent code\s+(\d{6})", consent.output)
    assert match is not None, consent.output
    enrolled = run(
        "enrol", issued.voucher_id, "--institution", catalogue.institution,
        "--course", catalogue.course, "--consent", match.group(1),
    )  # fmt: skip
    assert enrolled.exit_code == 0, enrolled.output

    with caplog.at_level(logging.INFO, logger="skillvoucher.notices"):
        first = run("notices", "deliver", "--once")
    assert first.exit_code == 0, first.output
    assert "claimed 1, delivered 1" in first.output
    assert "delivered 1" in first.output.split("outbox now:")[1]
    [line] = [r.getMessage() for r in caplog.records if r.name == "skillvoucher.notices"]
    assert "kind=enrolled" in line
    assert issued.resident_id not in line

    again = run("notices", "deliver", "--once")
    assert again.exit_code == 0
    assert "claimed 0, delivered 0" in again.output
