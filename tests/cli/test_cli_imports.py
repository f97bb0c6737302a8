"""`import people|institutions|courses`: good rows in, bad rows by line, no ID number shown."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import Workspace, one_line, people, write_catalogue, write_people_csv

pytest_plugins = ("cli_fixtures",)


def test_import_people_reports_bad_rows_by_line_without_id_numbers(
    upgraded: Workspace, tmp_path: Path
) -> None:
    good = people(20)
    bad_check_digit = good[0].resident_id[:17] + ("0" if good[0].resident_id[17] != "0" else "1")
    bad_birth_date = "140105199002301234"
    rows = [
        ("123", "短号码", "", "140100", "active", "", ""),
        (bad_check_digit, "错校验", "", "140100", "active", "", ""),
        (bad_birth_date, "错日期", "", "140100", "active", "", ""),
        (good[1].resident_id, "重复", "", "140100", "active", "", ""),
    ]
    path = write_people_csv(tmp_path / "people.csv", good, rows)

    result = upgraded.run("import", "people", str(path))

    assert result.exit_code == 1
    assert "inserted 20, updated 0, unchanged 0, rejected 4" in result.output
    for line in ("22", "23", "24", "25"):
        assert f"│ {line} " in result.output
    assert "same resident ID as line 3" in result.output
    for number in [p.resident_id for p in good] + [bad_check_digit, bad_birth_date]:
        assert number not in result.output
    for mobile in (p.mobile for p in good):
        assert mobile not in result.output


def test_reimporting_people_changes_nothing(upgraded: Workspace, tmp_path: Path) -> None:
    path = write_people_csv(tmp_path / "people.csv", people(10))
    assert upgraded.run("import", "people", str(path)).exit_code == 0

    again = upgraded.run("import", "people", str(path))

    assert again.exit_code == 0
    assert "inserted 0, updated 0, unchanged 10, rejected 0" in again.output


def test_import_catalogue(upgraded: Workspace, tmp_path: Path) -> None:
    catalogue = write_catalogue(tmp_path)

    first = upgraded.run("import", "institutions", str(catalogue.institutions))
    second = upgraded.run("import", "courses", str(catalogue.courses))

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "inserted 1" in second.output


def test_a_missing_file_is_one_line(upgraded: Workspace, tmp_path: Path) -> None:
    result = upgraded.run("import", "people", str(tmp_path / "nowhere.csv"))

    assert result.exit_code == 1
    line = one_line(result)
    assert line.startswith("error: ")
    assert "nowhere.csv does not exist" in line


def test_a_missing_scheme_file_is_one_line(upgraded: Workspace, tmp_path: Path) -> None:
    result = upgraded.run("scheme", "create", str(tmp_path / "nowhere.yaml"))

    assert result.exit_code == 1
    assert one_line(result).endswith("[invalid_scheme]")
