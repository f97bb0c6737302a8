"""``skillvoucher fund`` and ``skillvoucher ledger``: the special fund and its ledger."""

from __future__ import annotations

from typing import Annotated

import typer

from skillvoucher.application.funds import FundBalance, deposit, fund_balances
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.cli.context import open_app
from skillvoucher.cli.errors import EXIT_FAILED
from skillvoucher.cli.output import stdout, table, yuan
from skillvoucher.domain.ledger import Account

fund_app = typer.Typer(help="Regional special fund accounts.", no_args_is_help=True)
ledger_app = typer.Typer(help="The fund ledger.", no_args_is_help=True)


def _balances_table(balances: list[FundBalance]) -> None:
    # The treasury bucket is the negative of everything deposited; shown as "deposited".
    buckets = [a for a in Account if a is not Account.TREASURY]
    amounts = ["deposited", *(a.value for a in buckets)]
    rows = table("region", "name", *amounts, numbers=amounts)
    totals = dict.fromkeys(Account, 0)
    for balance in balances:
        rows.add_row(
            balance.region_code,
            balance.name,
            yuan(-balance.balances.get(Account.TREASURY, 0)),
            *(yuan(balance.balances.get(a, 0)) for a in buckets),
        )
        for account, fen in balance.balances.items():
            totals[account] += fen
    if len(balances) > 1:
        rows.add_row(
            "total", "", yuan(-totals[Account.TREASURY]), *(yuan(totals[a]) for a in buckets)
        )
    stdout().print(rows)


@fund_app.command("deposit")
def deposit_command(
    region: Annotated[
        str, typer.Argument(metavar="REGION", help="Six-digit region code, e.g. 140100.")
    ],
    amount_fen: Annotated[
        int, typer.Argument(metavar="AMOUNT_FEN", help="Amount in fen (1 yuan = 100 fen).")
    ],
    reference: Annotated[str, typer.Option(help="The treasury's transfer reference.")],
) -> None:
    """Record money arriving in a region's special fund (opens the account on first use)."""
    with open_app() as ctx:
        balance = deposit(ctx, region, amount_fen, reference)
    stdout().print(f"deposited {yuan(amount_fen)} into {balance.name}")
    _balances_table([balance])


@fund_app.command("show")
def show_command() -> None:
    """Balances of every fund account, by ledger bucket."""
    with open_app() as ctx:
        balances = fund_balances(ctx)
    if not balances:
        stdout().print("no fund accounts yet: `skillvoucher fund deposit REGION AMOUNT_FEN`")
        return
    _balances_table(balances)


@ledger_app.command("check")
def check_command() -> None:
    """Check the ledger's invariants; print the problems and exit 1 if there are any."""
    with open_app() as ctx:
        problems = ledger_problems(ctx)
    console = stdout()
    if not problems:
        console.print("ledger balanced")
        return
    for problem in problems:
        console.print(problem)
    console.print(f"{len(problems)} problem(s)")
    raise typer.Exit(EXIT_FAILED)
