"""`skillvoucher stats`: figures as bar charts in the terminal, or JSON for machines."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.columns import Columns

from skillvoucher.application.statistics import Statistics, compute_statistics, utilisation
from skillvoucher.application.tally_upkeep import fold_tallies
from skillvoucher.cli.charts import issued_used_chart, used_completed_chart
from skillvoucher.cli.context import open_app
from skillvoucher.cli.output import details, stdout, yuan
from skillvoucher.domain.people import TARGET_GROUP_LABELS_ZH, TargetGroup

TOP_INSTITUTIONS = 10


def stats_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of charts.")] = False,
) -> None:
    """Issued, used, completed, certified and settled vouchers, amounts and utilisation."""
    with open_app() as ctx:
        statistics = compute_statistics(ctx)
    if as_json:
        typer.echo(json.dumps(statistics.as_json(), ensure_ascii=False, indent=2))
        return
    print_statistics(statistics)


def fold_tallies_command() -> None:
    """Fold the statistics tallies into one row per key (run it from a timer, every minute)."""
    with open_app() as ctx:
        counts = fold_tallies(ctx)
    for table, (before, after) in counts.items():
        stdout().print(f"{table}: {before:,} rows folded into {after:,}")


def _group_label(key: str) -> str:
    try:
        return TARGET_GROUP_LABELS_ZH[TargetGroup(key)]
    except ValueError:
        return key


def print_statistics(statistics: Statistics) -> None:
    console = stdout()
    t, amounts = statistics.totals, statistics.amounts
    console.print(
        Columns(
            [
                details(
                    [
                        ("vouchers issued", f"{t.issued:,}"),
                        ("claimed or applied for", f"{t.claimed:,}"),
                        ("used (enrolled)", f"{t.used:,}"),
                        ("utilisation", f"{utilisation(t):.2%}"),
                        ("completed", f"{t.completed:,}"),
                        ("certified", f"{t.certified:,}"),
                        ("settled", f"{t.settled:,}"),
                        ("expired / revoked", f"{t.expired:,} / {t.revoked:,}"),
                    ]
                ),
                details(
                    [
                        ("face value issued", yuan(amounts["amount_issued_fen"])),
                        ("committed now", yuan(amounts["amount_committed_fen"])),
                        ("payable", yuan(amounts["amount_payable_fen"])),
                        ("paid to institutions", yuan(amounts["amount_paid_fen"])),
                        ("released to schemes", yuan(amounts["amount_released_fen"])),
                        ("fund deposits", yuan(amounts["fund_deposited_fen"])),
                    ]
                ),
            ],
            padding=(0, 6),
        )
    )
    by = statistics.breakdowns
    console.print()
    console.print(
        issued_used_chart(
            "By city of the holder", [(r.label, r.issued, r.used) for r in by["region"]]
        )
    )
    console.print()
    console.print(
        issued_used_chart(
            "By target group",
            [(_group_label(r.key), r.issued, r.used) for r in by["target_group"]],
        )
    )
    console.print()
    console.print(issued_used_chart("By scheme", [(r.key, r.issued, r.used) for r in by["scheme"]]))
    console.print()
    console.print(
        issued_used_chart("By month of issue", [(r.key, r.issued, r.used) for r in by["month"]])
    )
    busiest = sorted(by["institution"], key=lambda r: (-r.used, r.key))[:TOP_INSTITUTIONS]
    console.print()
    console.print(
        used_completed_chart(
            f"Busiest {len(busiest)} institutions",
            [(r.label, r.used, r.completed, r.certified) for r in busiest],
        )
    )
