"""Bar charts in the terminal: people read statistics better as bars than as columns of digits."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

BAR_WIDTH = 36


def bar(value: int, largest: int, style: str) -> Text:
    """A horizontal bar scaled to ``largest``; eighth blocks keep small values visible."""
    if largest <= 0 or value <= 0:
        return Text("")
    eighths = max(1, round(value * BAR_WIDTH * 8 / largest))
    full, rest = divmod(eighths, 8)
    return Text("█" * full + (" ▏▎▍▌▋▊▉"[rest] if rest else ""), style=style)


def issued_used_chart(title: str, rows: Sequence[tuple[str, int, int]]) -> Table:
    """For each label, a bar of vouchers issued and one of vouchers used, with the rate."""
    largest = max((issued for _, issued, _ in rows), default=0)
    chart = Table(title=title, title_justify="left", show_edge=False, box=None, padding=(0, 1))
    chart.add_column("", no_wrap=True)
    chart.add_column("issued / used", no_wrap=True)
    chart.add_column("", justify="right", no_wrap=True)
    for label, issued, used in rows:
        rate = f"{used / issued:.1%}" if issued else "-"
        chart.add_row(label, bar(issued, largest, "cyan"), f"{issued:,}")
        chart.add_row("", bar(used, largest, "green"), f"{used:,} used · {rate}")
    return chart


def used_completed_chart(title: str, rows: Sequence[tuple[str, int, int, int]]) -> Table:
    """For each institution, vouchers used there, and how many completed and certified."""
    largest = max((used for _, used, _, _ in rows), default=0)
    chart = Table(title=title, title_justify="left", show_edge=False, box=None, padding=(0, 1))
    chart.add_column("", no_wrap=True)
    chart.add_column("used / completed / certified", no_wrap=True)
    chart.add_column("", justify="right", no_wrap=True)
    for label, used, completed, certified in rows:
        chart.add_row(label, bar(used, largest, "cyan"), f"{used:,} used")
        chart.add_row("", bar(completed, largest, "green"), f"{completed:,} completed")
        chart.add_row("", bar(certified, largest, "yellow"), f"{certified:,} certified")
    return chart
