"""How the CLI shows things: Rich consoles, money, times, import reports and progress bars."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from skillvoucher.application.imports import ImportReport
from skillvoucher.domain.money import format_yuan
from skillvoucher.domain.row_problems import RowProblem

ID_WIDTH = 36  # a UUID, never wrapped, so it can be copied from the table
PIPE_WIDTH = 160
"""Output to a file or pipe has no screen to fit; Rich would assume 80 columns."""


def stdout() -> Console:
    """A console on stdout. Markup, emoji and highlighting are off: data is printed as it is
    (an institution name with brackets stays as written). Made per call, never at import, so it
    follows whatever stdout is at the time."""
    console = Console(markup=False, emoji=False, highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, PIPE_WIDTH)
    return console


def stderr() -> Console:
    return Console(stderr=True, markup=False, emoji=False, highlight=False)


def yuan(fen: int) -> str:
    return f"¥{format_yuan(fen)}"


def table(*columns: str, ids: Sequence[str] = (), numbers: Sequence[str] = ()) -> Table:
    """A table that never cuts a value short: a narrow screen folds cells instead.

    ``ids`` columns hold UUIDs and are never wrapped; ``numbers`` (amounts, counts) are aligned
    right and never wrapped.
    """
    result = Table()
    for column in columns:
        if column in ids:
            result.add_column(column, min_width=ID_WIDTH, no_wrap=True)
        elif column in numbers:
            result.add_column(column, justify="right", no_wrap=True)
        else:
            result.add_column(column, overflow="fold")
    return result


def details(rows: Iterable[tuple[str, str]]) -> Table:
    """Label/value pairs, one per line."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, value in rows:
        grid.add_row(label, value)
    return grid


def problems_table(problems: Sequence[RowProblem], *, show_keys: bool) -> Table:
    """Rejected rows by line. ``show_keys=False`` for people: a masked resident ID next to a
    reason about its birth date would give the whole number away."""
    result = table("line", "key", "reason") if show_keys else table("line", "reason")
    for problem in problems:
        cells = [str(problem.line), problem.key or "-", problem.reason]
        result.add_row(*(cells if show_keys else [cells[0], cells[2]]))
    return result


def print_import_report(report: ImportReport, *, show_keys: bool = True) -> None:
    console = stdout()
    console.print(
        f"inserted {report.inserted}, updated {report.updated}, unchanged {report.unchanged}, "
        f"rejected {len(report.problems)}"
    )
    if report.problems:
        console.print(problems_table(report.problems, show_keys=show_keys))
    if report.notes:
        console.print(f"taken in with notes {len(report.notes)}")
        console.print(problems_table(report.notes, show_keys=show_keys))


class ProgressReporter:
    """Callbacks in the shapes the use cases take: a running count, or done out of a total."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task

    def count(self, done: int) -> None:
        self._progress.update(self._task, completed=done)

    def fraction(self, done: int, total: int) -> None:
        self._progress.update(self._task, completed=done, total=total)


@contextmanager
def progress_bar(description: str, total: int | None = None) -> Iterator[ProgressReporter]:
    """A progress bar on stderr while the block runs; nothing at all when stderr is not a
    terminal (files and pipes get the final summary only)."""
    console = stderr()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as progress:
        yield ProgressReporter(progress, progress.add_task(description, total=total))
