"""`db upgrade`, `db status`, and what every other command says on a database that is not ready."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cli_helpers import Workspace, one_line
from typer.testing import CliRunner

from skillvoucher.cli.main import app

pytest_plugins = ("cli_fixtures",)


def test_db_upgrade_migrates_and_loads_regions(workspace: Workspace) -> None:
    result = workspace.run("db", "upgrade")

    assert result.exit_code == 0, result.output
    assert "built-in regions loaded" in result.output
    assert workspace.run("db", "status").exit_code == 0
    regions = workspace.run("regions", "list")
    assert regions.exit_code == 0
    assert "140100" in regions.output
    assert "太原市" in regions.output


def test_db_upgrade_is_safe_to_rerun(workspace: Workspace) -> None:
    assert workspace.run("db", "upgrade").exit_code == 0
    assert workspace.run("db", "upgrade").exit_code == 0


def test_db_status_exits_1_when_an_upgrade_is_due(workspace: Workspace) -> None:
    result = workspace.run("db", "status")

    assert result.exit_code == 1
    assert "skillvoucher db upgrade" in result.output


@pytest.mark.parametrize(
    "args",
    [
        ("scheme", "list"),
        ("fund", "show"),
        ("regions", "list"),
        ("ledger", "check"),
        ("voucher", "show", "01a242ef-bcc9-7529-a2f8-1ddb9b49f1ef"),
    ],
)
def test_commands_refuse_a_database_that_is_not_upgraded(
    workspace: Workspace, args: tuple[str, ...]
) -> None:
    result = workspace.run(*args)

    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith("error: ")
    assert "run `skillvoucher db upgrade`" in line
    assert line.endswith("[database_not_ready]")


def test_an_unusable_database_is_one_line(tmp_path: Path) -> None:
    # A directory where the SQLite file should be: the driver cannot open it.
    (tmp_path / "a-directory").mkdir()
    env = {
        "SKILLVOUCHER_DATA_DIR": str(tmp_path),
        "SKILLVOUCHER_DATABASE_URL": f"sqlite:///{tmp_path / 'a-directory'}",
    }

    result = CliRunner().invoke(app, ["scheme", "list"], env=env)

    assert result.exit_code == 1
    assert one_line(result).endswith("[database_unavailable]")


def test_invalid_settings_are_one_line(tmp_path: Path) -> None:
    env = {"SKILLVOUCHER_DATA_DIR": str(tmp_path), "SKILLVOUCHER_CHUNK_SIZE": "many"}

    result = CliRunner().invoke(app, ["scheme", "list"], env=env)

    assert result.exit_code == 1
    line = one_line(result)
    assert "SKILLVOUCHER_CHUNK_SIZE" in line
    assert line.endswith("[invalid_settings]")


def test_a_password_in_the_database_url_is_never_shown(tmp_path: Path) -> None:
    env = {
        "SKILLVOUCHER_DATA_DIR": str(tmp_path),
        "SKILLVOUCHER_DATABASE_URL": "postgresql://clerk:s3cret-pw@127.0.0.1:1/vouchers",
    }

    status = CliRunner().invoke(app, ["db", "status"], env=env)

    assert status.exit_code == 1
    assert "s3cret-pw" not in status.output
    assert one_line(status).endswith("[database_unavailable]")


def test_citus_ddl_prints_how_to_distribute_the_database(upgraded: Workspace) -> None:
    result = upgraded.run("db", "citus-ddl", "--shard-count", "32")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "CREATE EXTENSION IF NOT EXISTS citus;"
    assert "SET citus.shard_count = 32;" in lines
    assert (
        "SELECT create_distributed_table('vouchers', 'province_code',"
        " colocate_with => 'audit_chain_heads');" in lines
    )
    assert "SELECT create_reference_table('regions');" in lines
    assert all(line.endswith(";") for line in lines)


def test_citus_ddl_refuses_a_schema_that_breaks_a_rule(upgraded: Workspace) -> None:
    with sqlite3.connect(upgraded.directory / "skillvoucher.db") as connection:
        connection.execute("CREATE TABLE scratchpad (id TEXT PRIMARY KEY)")

    result = upgraded.run("db", "citus-ddl")

    assert result.exit_code == 1
    assert "error: scratchpad: not placed" in result.output
    assert "create_distributed_table" not in result.output
