"""Pages under /enterprise (being built)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/enterprise", include_in_schema=False)
