"""``skillvoucher scheme``: define schemes from YAML files and move them through their life."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from skillvoucher.application.issuance import eligible_count
from skillvoucher.application.previews import preview_scheme
from skillvoucher.application.scheme_files import load_scheme_file
from skillvoucher.application.schemes import (
    SchemeView,
    change_status,
    create_scheme,
    get_scheme,
    list_schemes,
)
from skillvoucher.cli.context import open_app
from skillvoucher.cli.output import details, stdout, table, yuan
from skillvoucher.domain.schemes import SchemeRules, SchemeStatus

app = typer.Typer(
    help="Voucher schemes: preview, create, show, launch, pause, close.", no_args_is_help=True
)

CodeArgument = Annotated[
    str, typer.Argument(metavar="CODE", help="The scheme code, e.g. TY-2026-IND.")
]


def _listing(values: Iterable[str], empty: str = "any") -> str:
    items = sorted(str(v) for v in values)  # StrEnum members print as their value
    return ", ".join(items) if items else empty


def _rules_rows(rules: SchemeRules) -> list[tuple[str, str]]:
    face = rules.face_value
    face_text = (
        yuan(face.fixed_fen)
        if face.fixed_fen is not None
        else ", ".join(f"level {lvl.value}: {yuan(fen)}" for lvl, fen in face.by_level.items())
    )
    validity = [f"{rules.validity.days} days"] if rules.validity.days else []
    validity += [f"until {rules.validity.until}"] if rules.validity.until else []
    elig = rules.eligibility
    ages = f"{elig.min_age or '-'} to {elig.max_age or '-'}"
    stages = ", ".join(f"{s.evidence.value} {s.percent}%" for s in rules.stages)
    return [
        ("type", f"{rules.type.value}, issued by {rules.issuance.value}"),
        ("face value", face_text),
        (
            "validity",
            " or ".join(validity) + (" (whichever is first)" if len(validity) > 1 else ""),
        ),
        ("target groups", _listing(elig.target_groups)),
        ("excluded", _listing(elig.excluded_groups, "none")),
        ("ages", ages),
        ("households", _listing(elig.household_regions, "own region")),
        ("occupations", _listing(rules.courses.occupations)),
        ("levels", _listing(rules.courses.levels)),
        ("stages", f"{stages}; min attendance {rules.min_attendance_percent}%"),
    ]


def _print_scheme(view: SchemeView, eligible: int | None = None) -> None:
    rows = [
        ("scheme", f"{view.code}  {view.name}"),
        ("region", view.region_code),
        ("status", view.status.value),
        ("quota", f"{view.issued_count} of {view.quota} issued"),
        ("budget", f"{yuan(view.budget_fen)} ({yuan(view.available_fen)} not yet committed)"),
    ]
    if eligible is not None:
        rows.append(("eligible now", str(eligible)))
    stdout().print(details(rows + _rules_rows(view.rules)))


@app.command("create")
def create(
    file: Annotated[Path, typer.Argument(metavar="FILE.yaml", help="The scheme definition.")],
    draft: Annotated[
        bool, typer.Option("--draft", help="Store it as a draft instead of launching it.")
    ] = False,
) -> None:
    """Create a scheme from a YAML file and launch it (its budget is taken from the fund)."""
    doc = load_scheme_file(file)
    with open_app() as ctx:
        view = create_scheme(ctx, doc, launch=not draft)
    _print_scheme(view)


@app.command("preview")
def preview(
    file: Annotated[Path, typer.Argument(metavar="FILE.yaml", help="The scheme definition.")],
) -> None:
    """Before creating a scheme: how many people qualify today and the budget it would need."""
    doc = load_scheme_file(file)
    with open_app() as ctx:
        result = preview_scheme(ctx, doc)
    verdict = "covers it" if result.budget_covers else "does NOT cover it"
    stdout().print(
        details(
            [
                ("scheme", f"{doc.code}  {doc.name}"),
                ("eligible today", f"{result.eligible:,}"),
                ("within the quota", f"{result.reachable:,} of {doc.quota:,}"),
                ("budget needed", f"{yuan(result.budget_needed_fen)} at the largest face value"),
                ("budget asked", f"{yuan(result.budget_fen)}, which {verdict}"),
            ]
        )
    )


@app.command("show")
def show(code: CodeArgument) -> None:
    """Show a scheme, its rules and how many people are eligible now."""
    with open_app() as ctx:
        view = get_scheme(ctx, code)
        eligible = eligible_count(ctx, code)
    _print_scheme(view, eligible)


@app.command("list")
def list_command() -> None:
    """List every scheme."""
    with open_app() as ctx:
        views = list_schemes(ctx)
    numbers = ("issued", "quota", "budget", "uncommitted")
    rows = table("code", "name", "region", "status", *numbers, numbers=numbers)
    for v in views:
        rows.add_row(
            v.code,
            v.name,
            v.region_code,
            v.status.value,
            str(v.issued_count),
            str(v.quota),
            yuan(v.budget_fen),
            yuan(v.available_fen),
        )
    stdout().print(rows)


def _move(code: str, to: SchemeStatus) -> None:
    with open_app() as ctx:
        view = change_status(ctx, code, to)
    stdout().print(f"scheme {view.code} is {view.status.value}")


@app.command("launch")
def launch(code: CodeArgument) -> None:
    """Launch a draft scheme, or resume a paused one."""
    _move(code, SchemeStatus.ACTIVE)


@app.command("pause")
def pause(code: CodeArgument) -> None:
    """Pause issuance; vouchers already issued stay usable."""
    _move(code, SchemeStatus.PAUSED)


@app.command("close")
def close(code: CodeArgument) -> None:
    """Close a scheme for good."""
    _move(code, SchemeStatus.CLOSED)
