"""Rich tables of an outcome: figures, ratios to the baseline, checks."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from benchmarks.outcome import Outcome


def _number(value: float) -> str:
    if value >= 100 or value == int(value):
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.4f}"


def _met(met: bool | None) -> str:
    if met is None:
        return "[dim]n/a at this size[/dim]"
    return "[green]yes[/green]" if met else "[red]no[/red]"


def print_outcome(console: Console, outcome: Outcome) -> None:
    title = f"{outcome.title} — {outcome.backend}, {outcome.seconds:.1f} s"
    figures = Table(title=title, title_justify="left")
    figures.add_column("figure")
    figures.add_column("value", justify="right")
    figures.add_column("unit")
    for figure in outcome.figures:
        figures.add_row(figure.label, _number(figure.value), figure.unit)
    console.print(figures)
    if outcome.comparisons:
        ratios = Table(title="against the baseline measured in this run", title_justify="left")
        for column in ("what", "skillvoucher", "baseline", "ratio", "goal", "met"):
            ratios.add_column(column, justify="right" if column == "ratio" else "left")
        for c in outcome.comparisons:
            ratios.add_row(c.label, c.measured, c.baseline, f"{c.ratio:.3f}", c.goal, _met(c.met))
        console.print(ratios)
    for check in outcome.checks:
        mark = "[green]ok[/green]" if check.passed else "[red]FAILED[/red]"
        console.print(f"  {mark} {check.label}: {check.detail}")
