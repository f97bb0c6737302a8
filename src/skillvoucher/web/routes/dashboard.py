"""Pages under /dashboard (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/dashboard", include_in_schema=False)
