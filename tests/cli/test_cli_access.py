"""`skillvoucher account` and `skillvoucher apikey`: the operator hands out the first access."""

from __future__ import annotations

from cli_helpers import Workspace, one_line, write_catalogue
from fastapi.testclient import TestClient

from skillvoucher.api.app import create_app
from skillvoucher.application.context import AppContext
from skillvoucher.config import Settings

pytest_plugins = ("cli_fixtures",)

PASSWORD = "a good password 9"


def _client_for(workspace: Workspace) -> TestClient:
    return TestClient(create_app(AppContext.from_settings(Settings(data_dir=workspace.directory))))


def test_an_account_made_at_the_command_line_signs_in(upgraded: Workspace) -> None:
    made = upgraded.run(
        "account",
        "create",
        "boss",
        "--role",
        "province_admin",
        "--region",
        "140000",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert made.exit_code == 0, made.output
    assert "province_admin account boss (140000)" in made.output
    with _client_for(upgraded) as client:
        answer = client.post(
            "/api/v1/auth/sign-in", json={"username": "boss", "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.json()
        assert answer.json()["role"] == "province_admin"

    again = upgraded.run(
        "account", "create", "boss", "--role", "auditor", "--password-stdin", input=PASSWORD + "\n"
    )
    assert again.exit_code == 1
    assert "already_exists" in one_line(again)
    weak = upgraded.run(
        "account", "create", "clerk", "--role", "auditor", "--password-stdin", input="short\n"
    )
    assert (weak.exit_code, "invalid_input" in one_line(weak)) == (1, True)


def test_an_api_key_is_printed_once_listed_without_its_secret_and_revoked(
    upgraded: Workspace,
) -> None:
    catalogue = write_catalogue(upgraded.directory.parent)
    assert upgraded.run("import", "institutions", str(catalogue.institutions)).exit_code == 0
    made = upgraded.run(
        "apikey",
        "create",
        "gate 1",
        "--role",
        "institution_staff",
        "--institution",
        catalogue.institution,
        "--scope",
        "attendance:record",
    )
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("svk_")
    with _client_for(upgraded) as client:
        me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"}).json()
        assert me["permissions"] == ["attendance:record"]

    listed = upgraded.run("apikey", "list")
    assert "gate 1" in listed.output
    assert key.rsplit("_", 1)[1] not in listed.output
    key_id = next(
        word for line in listed.output.splitlines() for word in line.split() if word.count("-") == 4
    )
    assert upgraded.run("apikey", "revoke", key_id).exit_code == 0
    with _client_for(upgraded) as client:
        assert (
            client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"}).status_code
            == 401
        )

    beyond = upgraded.run(
        "apikey",
        "create",
        "too much",
        "--role",
        "institution_staff",
        "--institution",
        catalogue.institution,
        "--scope",
        "settlement:approve",
    )
    assert beyond.exit_code == 1
    assert "invalid_input" in one_line(beyond)
