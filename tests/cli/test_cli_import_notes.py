"""An import's notes (rows taken in with an administrator's decision left standing) are listed
apart from its rejections, and do not count as rejected."""

from __future__ import annotations

import pytest

from skillvoucher.application.imports import ImportReport
from skillvoucher.cli.output import print_import_report
from skillvoucher.domain.row_problems import RowProblem


def test_notes_are_listed_apart_from_rejections(capsys: pytest.CaptureFixture[str]) -> None:
    report = ImportReport(updated=1, notes=[RowProblem(2, "stays refused", "C1")])

    print_import_report(report)

    output = capsys.readouterr().out
    assert "inserted 0, updated 1, unchanged 0, rejected 0" in output
    assert "taken in with notes 1" in output
    assert "stays refused" in output
