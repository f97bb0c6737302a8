"""The ``skillvoucher`` command: every command group wired onto one root.

Failures are reported in one place, ``cli.errors.ReportingGroup``; commands never catch.
"""

from __future__ import annotations

import typer

from skillvoucher.cli import (
    access,
    audit,
    db,
    demo,
    funds,
    imports,
    institutions,
    issuance,
    keys,
    notices,
    regions,
    schemes,
    serve,
    settlement,
    stats,
    training,
    vouchers,
)
from skillvoucher.cli.errors import ReportingGroup

SETTINGS_HELP = (
    "Settings come from the environment only (so that no password is typed as an argument): "
    "SKILLVOUCHER_DATA_DIR (default ./skillvoucher-data) holds the SQLite database and the "
    "keys; SKILLVOUCHER_DATABASE_URL (any SQLAlchemy URL, postgresql://... accepted) replaces "
    "the SQLite file; SKILLVOUCHER_KEY_DIR (default DATA_DIR/keys) holds the signing keys. "
    "Exit codes: 0 done; 1 error, or some rows or lines rejected; 2 wrong usage; "
    "3 voucher code invalid."
)

app = typer.Typer(
    name="skillvoucher",
    cls=ReportingGroup,
    help="Electronic vocational-training vouchers: schemes, issuance, enrolment, attendance, "
    "settlement and the fund ledger. Run `skillvoucher db upgrade` first.",
    epilog=SETTINGS_HELP,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    # A bug still shows its traceback, but never the local variables: they may hold
    # resident ID numbers.
    pretty_exceptions_show_locals=False,
)

SETUP, VOUCHERS, TRAINING, MONEY, REPORTS = (
    "Setting up",
    "Schemes and vouchers",
    "Training",
    "Money",
    "Reports",
)
app.add_typer(db.app, name="db", rich_help_panel=SETUP)
app.add_typer(regions.app, name="regions", rich_help_panel=SETUP)
app.add_typer(imports.app, name="import", rich_help_panel=SETUP)
app.add_typer(keys.app, name="keys", rich_help_panel=SETUP)
app.add_typer(institutions.app, name="institution", rich_help_panel=TRAINING)
app.add_typer(access.account_app, name="account", rich_help_panel=SETUP)
app.add_typer(access.apikey_app, name="apikey", rich_help_panel=SETUP)
app.add_typer(schemes.app, name="scheme", rich_help_panel=VOUCHERS)
app.command("issue", rich_help_panel=VOUCHERS)(issuance.issue_command)
app.add_typer(vouchers.app, name="voucher", rich_help_panel=VOUCHERS)
app.command("expire", rich_help_panel=VOUCHERS)(vouchers.expire_command)
app.command("enrol", rich_help_panel=TRAINING)(training.enrol_command)
app.command("cancel-enrolment", rich_help_panel=TRAINING)(training.cancel_enrolment_command)
app.command("attend", rich_help_panel=TRAINING)(training.attend_command)
app.command("complete", rich_help_panel=TRAINING)(training.complete_command)
app.add_typer(funds.fund_app, name="fund", rich_help_panel=MONEY)
app.add_typer(settlement.app, name="settle", rich_help_panel=MONEY)
app.add_typer(funds.ledger_app, name="ledger", rich_help_panel=MONEY)
app.add_typer(audit.app, name="audit", rich_help_panel=REPORTS)
app.add_typer(notices.app, name="notices", rich_help_panel=TRAINING)
app.command("stats", rich_help_panel=REPORTS)(stats.stats_command)
app.command("fold-tallies", rich_help_panel=REPORTS)(stats.fold_tallies_command)
app.command("demo", rich_help_panel=REPORTS)(demo.demo_command)
app.command("serve", rich_help_panel=REPORTS)(serve.serve_command)


def main() -> None:
    app(prog_name="skillvoucher")
