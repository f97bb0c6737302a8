"""What request handlers ask for: the application context the app was started with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from skillvoucher.application.context import AppContext


def app_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


Context = Annotated[AppContext, Depends(app_context)]
