"""Pages under /institution (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/institution", include_in_schema=False)
