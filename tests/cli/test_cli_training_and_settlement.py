"""From an issued voucher to a paid institution, entirely through the command line."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from cli_helpers import IssuedVoucher, one_line, uuid_in, write_catalogue, write_csv

from skillvoucher.domain.timekeeping import local_date, utc_now

pytest_plugins = ("cli_fixtures",)

ATTENDANCE_HEADER = ("voucher_id", "source", "minutes", "occurred_at", "device_id")


def _enrol(issued: IssuedVoucher, tmp_path: Path) -> None:
    run = issued.workspace.run
    catalogue = write_catalogue(tmp_path)
    assert run("import", "institutions", str(catalogue.institutions)).exit_code == 0
    assert run("import", "courses", str(catalogue.courses)).exit_code == 0
    consent = run("voucher", "consent", issued.voucher_id)
    match = re.search(r"consent code\s+(\d{6})", consent.output)
    assert match is not None, consent.output
    wrong = "000000" if match.group(1) != "000000" else "111111"
    refused = run(
        "enrol", issued.voucher_id, "--institution", catalogue.institution,
        "--course", catalogue.course, "--consent", wrong,
    )  # fmt: skip
    assert refused.exit_code == 1
    assert one_line(refused).endswith("[consent_invalid]")
    enrolled = run(
        "enrol", issued.voucher_id, "--institution", catalogue.institution,
        "--course", catalogue.course, "--consent", match.group(1),
    )  # fmt: skip
    assert enrolled.exit_code == 0, enrolled.output
    assert "holder pays" in enrolled.output


def test_attendance_file_reports_bad_rows_and_ignores_duplicates(
    issued: IssuedVoucher, tmp_path: Path
) -> None:
    _enrol(issued, tmp_path)
    # Just after the enrolment (devices may run a little ahead of the server's clock).
    now = utc_now().replace(microsecond=0)
    rows = [
        (issued.voucher_id, "card", "480", (now + timedelta(seconds=1)).isoformat(), "gate-1"),
        (issued.voucher_id, "face", "480", (now + timedelta(seconds=2)).isoformat(), ""),
        (issued.voucher_id, "palm", "480", now.isoformat(), ""),
        ("not-a-voucher", "card", "60", now.isoformat(), ""),
        (issued.voucher_id, "card", "60", "yesterday", ""),
    ]
    path = write_csv(tmp_path / "attendance.csv", ATTENDANCE_HEADER, rows)

    first = issued.workspace.run("attend", "--file", str(path))
    second = issued.workspace.run("attend", "--file", str(path))

    assert first.exit_code == 1
    assert "recorded 2, duplicates ignored 0, rejected 3" in first.output
    for line in ("4", "5", "6"):
        assert f"│ {line} " in first.output
    assert "source must be one of face, qr, card, online, not 'palm'" in first.output
    assert "recorded 0, duplicates ignored 2, rejected 3" in second.output


def test_attend_refuses_a_time_without_offset(issued: IssuedVoucher) -> None:
    result = issued.workspace.run(
        "attend", issued.voucher_id, "--source", "face", "--minutes", "60",
        "--at", "2026-12-01T09:00",
    )  # fmt: skip

    assert result.exit_code == 2
    assert "needs a UTC offset" in result.output


def _settled_batch(issued: IssuedVoucher, tmp_path: Path) -> str:
    """Enrol, attend, certify and build today's batch; its id."""
    run = issued.workspace.run
    _enrol(issued, tmp_path)
    assert run("attend", issued.voucher_id, "--source", "face", "--minutes", "480").exit_code == 0
    completed = run(
        "complete", issued.voucher_id, "--certificate", "CERT-2026-0001", "--level", "5"
    )
    assert completed.exit_code == 0, completed.output
    today = local_date(utc_now())
    built = run("settle", "--from", today.isoformat(), "--to", today.isoformat())
    assert built.exit_code == 0, built.output
    return uuid_in(built)


def test_a_published_batch_waits_for_its_notice(issued: IssuedVoucher, tmp_path: Path) -> None:
    run = issued.workspace.run
    batch = _settled_batch(issued, tmp_path)

    assert run("settle", "approve", batch, "--approver", "审核员").exit_code == 0
    published = run("settle", "publish", batch)
    paid = run("settle", "paid", batch, "--reference", "TR-2026-1")

    assert published.exit_code == 0, published.output
    assert "on notice until" in published.output
    notice_end = local_date(utc_now()) + timedelta(days=6)
    assert f"{notice_end.isoformat()} 00:00 CST" in published.output
    assert paid.exit_code == 1
    assert one_line(paid).endswith("[notice_not_over]")
    assert batch in run("settle", "list", "--status", "published").output


def test_from_enrolment_to_a_reconciled_payment(
    issued: IssuedVoucher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No public notice here (it has a test of its own): the batch is payable once published.
    monkeypatch.setenv("SKILLVOUCHER_SETTLEMENT_NOTICE_DAYS", "0")
    run = issued.workspace.run
    _enrol(issued, tmp_path)

    attended = run("attend", issued.voucher_id, "--source", "face", "--minutes", "480")
    completed = run(
        "complete", issued.voucher_id, "--certificate", "CERT-2026-0001", "--level", "5"
    )
    today = local_date(utc_now())
    period = ("--from", (today - timedelta(days=1)).isoformat(), "--to", today.isoformat())
    built = run("settle", *period)
    rebuilt = run("settle", *period)

    assert attended.exit_code == 0, attended.output
    assert "recorded; attended 480 min (10%)" in attended.output
    assert completed.exit_code == 0, completed.output
    assert built.exit_code == 0, built.output
    assert "1 batch(es) built" in built.output
    assert "¥1,500.00" in built.output
    assert "0 batch(es) built" in rebuilt.output  # the voucher is settled: nothing is paid twice
    batch = uuid_in(built)

    payment_file = tmp_path / "payment.csv"
    too_early = run("settle", "export", batch, "--out", str(payment_file))
    approved = run("settle", "approve", batch, "--approver", "审核员")
    not_public = run("settle", "export", batch, "--out", str(payment_file))
    published = run("settle", "publish", batch)
    exported = run("settle", "export", batch, "--out", str(payment_file))
    paid = run("settle", "paid", batch, "--reference", "TR-2026-1")
    listed = run("settle", "list", "--status", "paid")
    reconciled = run("settle", "reconcile")
    folded = run("fold-tallies")
    ledger = run("ledger", "check")
    shown = run("voucher", "show", issued.voucher_id)

    assert too_early.exit_code == 1
    assert one_line(too_early).endswith("[illegal_transition]")
    assert approved.exit_code == 0, approved.output
    assert one_line(not_public).endswith("[illegal_transition]")
    assert published.exit_code == 0, published.output
    assert exported.exit_code == 0, exported.output
    assert batch in payment_file.read_text(encoding="utf-8")
    assert paid.exit_code == 0, paid.output
    assert batch in listed.output
    assert reconciled.exit_code == 0, reconciled.output
    assert "0 disagreeing" in reconciled.output
    assert folded.exit_code == 0, folded.output
    assert "voucher_tallies:" in folded.output
    assert ledger.exit_code == 0
    assert "ledger balanced" in ledger.output  # the statistics tallies included
    assert "settled" in shown.output
    assert "CERT-2026-0001" in shown.output


def test_settle_needs_a_period_or_a_command(issued: IssuedVoucher) -> None:
    run = issued.workspace.run

    assert run("settle").exit_code == 2
    assert run("settle", "--from", "2026-12-01", "list").exit_code == 2
    assert run("settle", "--from", "2026-12-01", "--to", "2026-13-01").exit_code == 2


def test_fund_show_and_expire(issued: IssuedVoucher) -> None:
    run = issued.workspace.run

    funds = run("fund", "show")
    expired = run("expire")

    assert funds.exit_code == 0
    # Deposited, then the scheme's budget allocated, then one voucher's value committed.
    for amount in ("¥1,000,000.00", "¥900,000.00", "¥98,500.00", "¥1,500.00"):
        assert amount in funds.output
    assert expired.exit_code == 0
    assert "expired 0 vouchers" in expired.output
