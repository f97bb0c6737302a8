"""What request handlers ask for: the application context the app was started with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from skillvoucher.application.context import AppContext


async def app_context(request: Request) -> AppContext:
    # async: FastAPI runs a plain function dependency in a worker thread, a hop (and a GIL
    # hand-over) per request for an attribute read.
    context: AppContext = request.app.state.context
    return context


Context = Annotated[AppContext, Depends(app_context)]
