"""`skillvoucher demo`: build a Shanxi pilot through the real use cases, then show statistics."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from skillvoucher.application.statistics import compute_statistics
from skillvoucher.cli.context import open_app
from skillvoucher.cli.output import stderr, stdout
from skillvoucher.cli.stats import print_statistics
from skillvoucher.demo.portals import prepare_portal_walkthroughs
from skillvoucher.demo.runner import Advance, run_demo
from skillvoucher.demo.scales import SCALES
from skillvoucher.demo.walkthrough import WALKTHROUGH_FILE, prepare_walkthrough
from skillvoucher.domain.errors import AlreadyExists, InvalidInput
from skillvoucher.persistence import migrate


class _ProgressReporter:
    """One bar per demo stage, all in one Rich display."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def stage(self, description: str, total: int | None) -> Advance:
        task = self._progress.add_task(description, total=total)

        def advance(done: int) -> None:
            self._progress.update(task, completed=done)

        return advance


@contextmanager
def _progress() -> Iterator[Progress]:
    console = stderr()
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as progress:
        yield progress


def demo_command(
    scale: Annotated[
        str, typer.Option(help="small (about 4,000 vouchers) or pilot (1,757,000 vouchers).")
    ] = "small",
    reset: Annotated[
        bool, typer.Option("--reset", help="Drop everything in the database first.")
    ] = False,
) -> None:
    """Build a pilot modelled on Shanxi: registry, catalogue, three schemes, a training year;
    then accounts, a key and a live voucher for trying the API (see walkthrough.json)."""
    load_demo(scale, reset=reset)


def load_demo(scale: str, *, reset: bool = False) -> None:
    """The demo command's work, also run by `serve` on an empty development database."""
    if scale not in SCALES:
        raise InvalidInput(f"--scale must be one of {', '.join(SCALES)}, not {scale!r}")
    with open_app(check_schema=False) as ctx:
        if reset:
            migrate.reset(ctx.engine)
        else:
            migrate.upgrade(ctx.engine)
            with ctx.unit_of_work() as uow:
                if uow.schemes.all():
                    raise AlreadyExists(
                        "the database already holds schemes: run `skillvoucher demo --reset`, "
                        "or point SKILLVOUCHER_DATA_DIR at an empty folder"
                    )
        with _progress() as progress:
            outcome = run_demo(ctx, SCALES[scale], _ProgressReporter(progress))
        statistics = compute_statistics(ctx)
    # A context of its own: the demo's context runs on the demo's calendar, this one on today's.
    with open_app() as ctx:
        demo_folder = ctx.settings.data_dir / "demo"
        walkthrough = prepare_walkthrough(ctx.acting_as("demo"), demo_folder)
        prepare_portal_walkthroughs(ctx.acting_as("demo"), demo_folder, walkthrough)
        walkthrough_file = ctx.settings.data_dir / "demo" / WALKTHROUGH_FILE
    console = stdout()
    counts = outcome.counts
    console.print(
        f"Demo ({scale}) done: {counts.get('enrolled', 0):,} enrolments, "
        f"{counts.get('certified', 0):,} certificates, "
        f"{counts.get('claims_quota_exhausted', 0):,} late claimants told the quota was gone, "
        f"{counts.get('expired', 0):,} vouchers expired unused."
    )
    if outcome.payment_file is not None:
        console.print(f"Payment file: {outcome.payment_file}")
    console.print(
        "Ledger: balanced" if not outcome.ledger_problems else f"Ledger: {outcome.ledger_problems}"
    )
    console.print(
        f"API walkthrough: {len(walkthrough.passwords)} staff accounts, an institution key and "
        f"a live voucher; passwords and key in {walkthrough_file} (mode 0600)"
    )
    console.print()
    print_statistics(statistics)
