"""`skillvoucher serve`: the HTTP API with uvicorn (OpenAPI at /openapi.json, docs at /docs)."""

from __future__ import annotations

from typing import Annotated

import typer
import uvicorn

from skillvoucher.api.app import create_app
from skillvoucher.cli.context import open_app


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Serve the HTTP API on the configured database until interrupted."""
    with open_app() as ctx:
        uvicorn.run(create_app(ctx), host=host, port=port, log_level="info")
