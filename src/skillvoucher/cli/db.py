"""``skillvoucher db``: bring the schema up to date, and say where the database stands."""

from __future__ import annotations

import sqlalchemy as sa
import typer
from sqlalchemy.engine import make_url

from skillvoucher.application.idempotency import purge_expired
from skillvoucher.application.regions_import import load_builtin_regions
from skillvoucher.application.sign_in import purge_ended_sessions
from skillvoucher.cli.context import open_app
from skillvoucher.cli.errors import EXIT_FAILED
from skillvoucher.cli.output import details, stdout
from skillvoucher.persistence import distribution, migrate

app = typer.Typer(
    help="Database schema: upgrade, status, and the DDL that distributes it over Citus.",
    no_args_is_help=True,
)


@app.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration, then load the built-in regions (safe to re-run)."""
    with open_app(check_schema=False) as ctx:
        migrate.upgrade(ctx.engine)
        regions = load_builtin_regions(ctx)
        revision = migrate.current_revision(ctx.engine)
    stdout().print(f"database at revision {revision}; {regions} built-in regions loaded")


@app.command("status")
def status() -> None:
    """Show the database, its schema revision and the key directory; exit 1 if an upgrade is due."""
    with open_app(check_schema=False) as ctx:
        current = migrate.current_revision(ctx.engine)
        head = migrate.head_revision()
        url = make_url(ctx.settings.resolved_database_url).render_as_string(hide_password=True)
        key_dir = ctx.settings.resolved_key_dir
    up_to_date = current == head
    stdout().print(
        details(
            [
                ("database", url),
                ("revision", current or "none (empty database)"),
                ("latest", head or "-"),
                ("schema", "up to date" if up_to_date else "behind: run `skillvoucher db upgrade`"),
                ("keys", str(key_dir)),
            ]
        )
    )
    if not up_to_date:
        raise typer.Exit(EXIT_FAILED)


@app.command("purge")
def purge() -> None:
    """Forget what only matters for a while: ended sign-in sessions and the answers kept for
    Idempotency-Key retries after 24 hours. Safe to run at any time (a daily timer, say)."""
    with open_app() as ctx:
        sessions = purge_ended_sessions(ctx)
        answers = purge_expired(ctx)
    stdout().print(f"purged {sessions} ended sessions and {answers} kept idempotent answers")


@app.command("citus-ddl")
def citus_ddl(
    shard_count: int = typer.Option(64, min=1, help="Shards per distributed table."),
) -> None:
    """Print the SQL that spreads this database over Citus, sharded by province (to run on the
    coordinator once the workers are added; docs/scaling.md). Checks the schema against the
    rules Citus enforces first, and exits 1 listing what breaks them."""
    with open_app() as ctx, ctx.engine.connect() as connection:
        problems = distribution.schema_problems(connection)
        present = sa.inspect(connection).get_table_names()
    if problems:
        for problem in problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(EXIT_FAILED)
    for statement in distribution.citus_ddl(shard_count, present):
        typer.echo(f"{statement};")
