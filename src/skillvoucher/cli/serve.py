"""`skillvoucher serve`: the HTTP API with uvicorn (OpenAPI at /openapi.json, docs at /docs)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from skillvoucher.api.app import create_app
from skillvoucher.cli.context import load_settings, open_app
from skillvoucher.cli.demo import load_demo
from skillvoucher.cli.output import stderr
from skillvoucher.domain.errors import InvalidInput
from skillvoucher.persistence import migrate


def _holds_schemes() -> bool:
    with open_app(check_schema=False) as ctx:
        if migrate.current_revision(ctx.engine) is None:
            return False
        with ctx.unit_of_work() as uow:
            return bool(uow.schemes.all())


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    demo: Annotated[
        bool | None,
        typer.Option(
            "--demo/--no-demo",
            help="Load the small demo and the API walkthrough first. "
            "Default: yes on an empty database in development, never in production.",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API on the configured database until interrupted."""
    production = load_settings().environment == "production"
    if demo and production:
        raise InvalidInput("the demo hands out passwords in a file: never in production")
    if demo or (demo is None and not production and not _holds_schemes()):
        stderr().print("Empty database: loading the small demo first (--no-demo to skip)…")
        load_demo("small")
    with open_app() as ctx:
        app = create_app(ctx)
        uvicorn.run(app, host=host, port=port, log_level="info")
