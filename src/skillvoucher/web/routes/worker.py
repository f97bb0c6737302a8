"""Pages under /worker (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/worker", include_in_schema=False)
