"""Fixtures of the CLI tests, loaded by each test module through ``pytest_plugins``.

Not a ``conftest.py``: a second module of that name would clash with ``tests/conftest.py``
when mypy checks the tests (they are not packages).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_helpers import (
    CITY,
    SCHEME_CODE,
    SCHEME_YAML,
    IssuedVoucher,
    Workspace,
    people,
    uuid_in,
    workspace_in,
    write_people_csv,
)


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """An empty data directory: no database yet."""
    return workspace_in(tmp_path / "data")


@pytest.fixture
def upgraded(workspace: Workspace, sqlite_template: Path) -> Workspace:
    """A data directory whose database is migrated and holds the shipped regions.

    A copy of the session's migrated template, which is what `db upgrade` makes (that command
    has tests of its own).
    """
    workspace.directory.mkdir(parents=True)
    shutil.copyfile(sqlite_template, workspace.directory / "skillvoucher.db")
    return workspace


@pytest.fixture
def scheme(upgraded: Workspace, tmp_path: Path) -> Workspace:
    """A funded, launched application scheme (SCHEME_CODE) and five imported people."""
    run = upgraded.run
    people_file = write_people_csv(tmp_path / "people.csv", people(5))
    assert run("import", "people", str(people_file)).exit_code == 0
    assert run("fund", "deposit", CITY, "100000000", "--reference", "TR-0001").exit_code == 0
    yaml_file = tmp_path / "scheme.yaml"
    yaml_file.write_text(SCHEME_YAML, encoding="utf-8")
    result = run("scheme", "create", str(yaml_file))
    assert result.exit_code == 0, result.output
    return upgraded


@pytest.fixture
def issued(scheme: Workspace, tmp_path: Path) -> IssuedVoucher:
    """One voucher of SCHEME_CODE, issued to the first test person through --person-file."""
    resident_id = people(5)[0].resident_id
    person_file = tmp_path / "person.txt"
    person_file.write_text(resident_id + "\n", encoding="utf-8")
    result = scheme.run("issue", SCHEME_CODE, "--person-file", str(person_file))
    assert result.exit_code == 0, result.output
    return IssuedVoucher(scheme, uuid_in(result), resident_id)
