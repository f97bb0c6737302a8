"""`skillvoucher institution suspend|reinstate`: the operator stops and restarts an institution."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import Workspace, one_line, write_catalogue

pytest_plugins = ("cli_fixtures",)


def test_suspend_then_reinstate_by_credit_code(upgraded: Workspace, tmp_path: Path) -> None:
    catalogue = write_catalogue(tmp_path)
    run = upgraded.run
    assert run("import", "institutions", str(catalogue.institutions)).exit_code == 0

    suspended = run("institution", "suspend", catalogue.institution, "--reason", "fake roster")
    assert suspended.exit_code == 0, suspended.output
    assert f"institution {catalogue.institution}" in suspended.output
    assert "suspended: fake roster" in suspended.output

    again = run("institution", "suspend", catalogue.institution, "--reason", "again")
    assert again.exit_code == 1
    assert "only an approved institution can be suspended" in one_line(again)

    reinstated = run("institution", "reinstate", catalogue.institution)
    assert reinstated.exit_code == 0, reinstated.output
    assert "reinstated" in reinstated.output

    unknown = run("institution", "reinstate", "91140100MA0000000X")
    assert unknown.exit_code == 1
    assert "is not known" in one_line(unknown)
