"""Schemes, issuance, voucher show and QR codes, and offline verification of voucher codes."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import (
    SCHEME_CODE,
    IssuedVoucher,
    Workspace,
    one_line,
    people,
    workspace_in,
    write_csv,
    write_people_csv,
)

from skillvoucher.domain.identity import mask_resident_id

pytest_plugins = ("cli_fixtures",)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def credential_of(voucher: IssuedVoucher) -> str:
    result = voucher.workspace.run("voucher", "qr", voucher.voucher_id, "--text")
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_scheme_create_show_and_list(scheme: Workspace) -> None:
    shown = scheme.run("scheme", "show", SCHEME_CODE)
    listed = scheme.run("scheme", "list")

    assert shown.exit_code == 0, shown.output
    assert "active" in shown.output
    assert "eligible now" in shown.output
    assert "¥1,500.00" in shown.output
    assert SCHEME_CODE in listed.output


def test_scheme_preview_before_creating(upgraded: Workspace, tmp_path: Path) -> None:
    people_file = write_people_csv(tmp_path / "people.csv", people(5))
    assert upgraded.run("import", "people", str(people_file)).exit_code == 0
    yaml_file = tmp_path / "preview.yaml"
    yaml_file.write_text(
        "code: TY-PREVIEW\nname: 预览培训券\nregion: '140100'\ntype: individual\n"
        "issuance: push\nquota: 3\nbudget_fen: 200000\nface_value: {fixed_fen: 100000}\n"
        "validity: {days: 30}\nsettlement: {stages: [{evidence: completion, percent: 100}]}\n",
        encoding="utf-8",
    )

    result = upgraded.run("scheme", "preview", str(yaml_file))

    assert result.exit_code == 0, result.output
    assert "eligible today" in result.output
    assert "3 of 3" in result.output  # five people qualify, the quota lets three in
    assert "¥3,000.00" in result.output  # three vouchers at the face value
    assert "does NOT cover it" in result.output
    assert upgraded.run("scheme", "show", "TY-PREVIEW").exit_code == 1  # nothing was created


def test_scheme_create_as_draft_then_launch(upgraded: Workspace, tmp_path: Path) -> None:
    upgraded.run("fund", "deposit", "140100", "100000000", "--reference", "TR-1")
    yaml_file = tmp_path / "draft.yaml"
    yaml_file.write_text(
        "code: TY-DRAFT\nname: 草稿培训券\nregion: '140100'\ntype: individual\n"
        "issuance: application\nquota: 5\nbudget_fen: 500000\nface_value: {fixed_fen: 100000}\n"
        "validity: {days: 30}\nsettlement: {stages: [{evidence: completion, percent: 100}]}\n",
        encoding="utf-8",
    )

    created = upgraded.run("scheme", "create", str(yaml_file), "--draft")
    launched = upgraded.run("scheme", "launch", "TY-DRAFT")
    launched_again = upgraded.run("scheme", "launch", "TY-DRAFT")

    assert "draft" in created.output
    assert "TY-DRAFT is active" in launched.output
    assert launched_again.exit_code == 1
    assert one_line(launched_again).endswith("[illegal_transition]")


def test_issue_to_one_person_never_echoes_the_id_number(scheme: Workspace) -> None:
    resident_id = people(5)[1].resident_id

    result = scheme.run("issue", SCHEME_CODE, "--person", resident_id)
    again = scheme.run("issue", SCHEME_CODE, "--person", resident_id)

    assert result.exit_code == 0, result.output
    assert "¥1,500.00" in result.output
    assert "valid until" in result.output
    assert again.exit_code == 1
    line = one_line(again)
    assert line.endswith("[already_exists]")
    assert mask_resident_id(resident_id) in line
    assert resident_id not in result.output + again.output


def test_issue_reads_the_person_from_stdin(scheme: Workspace) -> None:
    resident_id = people(5)[2].resident_id

    result = scheme.run("issue", SCHEME_CODE, "--person-file", "-", input=resident_id + "\n")

    assert result.exit_code == 0, result.output
    assert resident_id not in result.output


def test_issue_to_an_unknown_person_is_one_masked_line(scheme: Workspace) -> None:
    stranger = people(1, seed=99)[0].resident_id

    result = scheme.run("issue", SCHEME_CODE, "--person", stranger)

    assert result.exit_code == 1
    assert one_line(result) == (
        f"error: no person {mask_resident_id(stranger)} in the registry [not_found]"
    )


def test_enterprise_roster_issuance_reports_each_line(upgraded: Workspace, tmp_path: Path) -> None:
    folks = people(30)
    employer = next(p.employer_credit_code for p in folks if p.employer_credit_code)
    staff = [p for p in folks if p.employer_credit_code == employer][:2]
    outsider = next(p for p in folks if p.employer_credit_code != employer)

    upgraded.run("import", "people", str(write_people_csv(tmp_path / "people.csv", folks)))
    upgraded.run("fund", "deposit", "140100", "100000000", "--reference", "TR-1")
    yaml_file = tmp_path / "enterprise.yaml"
    yaml_file.write_text(
        "code: TY-ENT\nname: 企业职工培训券\nregion: '140100'\ntype: enterprise\n"
        "issuance: application\nquota: 5\nbudget_fen: 500000\nface_value: {fixed_fen: 50000}\n"
        "validity: {days: 90}\nsettlement: {stages: [{evidence: completion, percent: 100}]}\n",
        encoding="utf-8",
    )
    assert upgraded.run("scheme", "create", str(yaml_file)).exit_code == 0
    roster = write_csv(
        tmp_path / "roster.csv",
        ("resident_id",),
        [(staff[0].resident_id,), (staff[1].resident_id,), (outsider.resident_id,), ("123",)],
    )

    result = upgraded.run("issue", "TY-ENT", "--enterprise", employer, "--roster", str(roster))

    assert result.exit_code == 1
    assert "issued 2, refused 2" in result.output
    assert "not an employee of the requesting enterprise" in result.output
    assert "resident ID must be 18 characters, got 3" in result.output
    for person in (*staff, outsider):
        assert person.resident_id not in result.output
        assert mask_resident_id(person.resident_id) in result.output


def test_voucher_show_masks_the_holder(issued: IssuedVoucher) -> None:
    holder = next(p for p in people(5) if p.resident_id == issued.resident_id)

    result = issued.workspace.run("voucher", "show", issued.voucher_id)

    assert result.exit_code == 0, result.output
    assert issued.voucher_id in result.output
    assert "issued" in result.output
    assert SCHEME_CODE in result.output
    assert mask_resident_id(issued.resident_id) in result.output
    assert issued.resident_id not in result.output
    assert holder.mobile not in result.output
    assert holder.mobile[-4:] in result.output


def test_voucher_qr_png_writes_a_png(issued: IssuedVoucher, tmp_path: Path) -> None:
    png = tmp_path / "voucher.png"

    result = issued.workspace.run("voucher", "qr", issued.voucher_id, "--png", str(png))

    assert result.exit_code == 0, result.output
    assert png.read_bytes().startswith(PNG_SIGNATURE)


def test_voucher_qr_in_the_terminal(issued: IssuedVoucher) -> None:
    result = issued.workspace.run("voucher", "qr", issued.voucher_id)

    assert result.exit_code == 0
    assert "█" in result.output


def test_verify_a_good_code(issued: IssuedVoucher) -> None:
    result = issued.workspace.run("voucher", "verify", credential_of(issued))

    assert result.exit_code == 0, result.output
    assert issued.voucher_id in result.output
    assert SCHEME_CODE in result.output
    assert "¥1,500.00" in result.output


def test_verify_reads_the_code_from_stdin_or_a_file(issued: IssuedVoucher, tmp_path: Path) -> None:
    code = credential_of(issued)
    code_file = tmp_path / "code.txt"
    code_file.write_text(code + "\n", encoding="utf-8")

    from_stdin = issued.workspace.run("voucher", "verify", "-", input=code + "\n")
    from_file = issued.workspace.run("voucher", "verify", "--file", str(code_file))

    assert from_stdin.exit_code == 0, from_stdin.output
    assert from_file.exit_code == 0, from_file.output


def test_verify_a_code_with_one_altered_character_exits_3(issued: IssuedVoucher) -> None:
    code = credential_of(issued)
    # Inside the signature, away from its last character (whose low bits are padding).
    position = len(code) - 10
    altered = code[:position] + ("A" if code[position] != "A" else "B") + code[position + 1 :]

    result = issued.workspace.run("voucher", "verify", altered)

    assert result.exit_code == 3
    assert one_line(result) == (
        f"invalid: signature does not verify with key {_kid(issued)} [credential_bad_signature]"
    )


def test_verify_garbage_exits_3(issued: IssuedVoucher) -> None:
    result = issued.workspace.run("voucher", "verify", "this is no voucher")

    assert result.exit_code == 3
    line = one_line(result)
    assert line.startswith("invalid: ")
    assert line.endswith("[credential_malformed]")


def test_verify_with_only_the_exported_jwks(issued: IssuedVoucher, tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    exported = issued.workspace.run("keys", "export", "--out", str(jwks))
    assert exported.exit_code == 0, exported.output
    assert '"d"' not in jwks.read_text(encoding="utf-8")  # no private key material
    # A verifier's machine: no database, no key store, only the published keys.
    verifier = workspace_in(tmp_path / "verifier")

    with_jwks = verifier.run("voucher", "verify", credential_of(issued), "--jwks", str(jwks))
    without = verifier.run("voucher", "verify", credential_of(issued))

    assert with_jwks.exit_code == 0, with_jwks.output
    assert issued.voucher_id in with_jwks.output
    assert without.exit_code == 1
    assert one_line(without).endswith("[invalid_input]")
    assert not (tmp_path / "verifier" / "skillvoucher.db").exists()


def test_verify_needs_exactly_one_source(issued: IssuedVoucher) -> None:
    assert issued.workspace.run("voucher", "verify").exit_code == 2


def test_consent_and_revoke(issued: IssuedVoucher) -> None:
    run = issued.workspace.run

    consent = run("voucher", "consent", issued.voucher_id)
    revoked = run("voucher", "revoke", issued.voucher_id, "--reason", "moved away")
    revoked_again = run("voucher", "revoke", issued.voucher_id, "--reason", "twice")

    assert consent.exit_code == 0, consent.output
    assert "consent code" in consent.output
    assert revoked.exit_code == 0, revoked.output
    assert "¥1,500.00 returned to the scheme" in revoked.output
    assert revoked_again.exit_code == 1
    assert one_line(revoked_again).endswith("[illegal_transition]")


def _kid(voucher: IssuedVoucher) -> str:
    listed = voucher.workspace.run("keys", "list")
    return next(word for word in listed.output.split() if word.startswith("140100-"))
