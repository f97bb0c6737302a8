"""Shared shape of every file import: good rows go in chunk by chunk, bad rows are reported."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import Any, TypeVar

from skillvoucher.application.context import AppContext
from skillvoucher.application.retries import retry_chunk
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.row_problems import RowProblem
from skillvoucher.persistence.unit_of_work import UnitOfWork

T = TypeVar("T")


@dataclass
class ImportReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    notes: list[RowProblem] = field(default_factory=list)
    """Rows taken in with a part left as it stands (an administrator's decision outranks the
    file): told to the uploader, but not rejections."""

    @property
    def accepted(self) -> int:
        return self.inserted + self.updated + self.unchanged


# What json.dumps(values, sort_keys=True, default=str, ensure_ascii=False) spells, with the
# encoder made once instead of once a row (a registry file has millions).
_CONTENT_ENCODER = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False)


def content_digest(values: dict[str, Any]) -> str:
    """A digest of a row's content, so that re-importing an unchanged row is a no-op."""
    return hashlib.sha256(_CONTENT_ENCODER.encode(values).encode()).hexdigest()


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


ProgressCallback = Callable[[int], None]
Upsert = Callable[[UnitOfWork, list[dict[str, Any]]], tuple[int, int]]


def write_in_chunks(
    ctx: AppContext,
    rows: Iterable[dict[str, Any]],
    upsert: Upsert,
    *,
    action: str,
    source: str,
    report: ImportReport,
    progress: ProgressCallback | None,
) -> None:
    """Write validated rows chunk by chunk, each chunk one transaction with its audit event.

    ``rows`` may be a generator that adds to ``report.problems`` as it validates, so progress
    counts every row read, accepted or not.
    """
    for chunk in chunked(rows, ctx.settings.chunk_size):
        # Safe to run again (retries.py): every ``upsert`` (people, institutions, courses) is
        # keyed on a natural key and skips rows whose content digest is unchanged, so a landed
        # chunk written again changes nothing (it counts as unchanged, with a second event).
        inserted, updated = retry_chunk(
            ctx, f"import {action}", partial(_write_chunk, ctx, chunk, upsert, action, source)
        )
        report.inserted += inserted
        report.updated += updated
        report.unchanged += len(chunk) - inserted - updated
        if progress is not None:
            progress(report.accepted + len(report.problems))


def _write_chunk(
    ctx: AppContext, chunk: list[dict[str, Any]], upsert: Upsert, action: str, source: str
) -> tuple[int, int]:
    now = ctx.clock()
    stamped = [{**row, "id": new_id(), "created_at": now, "updated_at": now} for row in chunk]
    with ctx.unit_of_work() as uow:
        inserted, updated = upsert(uow, stamped)
        uow.audit.record(
            at=now,
            actor=ctx.actor,
            action=action,
            entity_type="import",
            entity_id=source[:40],
            region_code=chunk[0]["province_code"],
            payload={"rows": len(chunk), "inserted": inserted, "updated": updated},
        )
        uow.commit()
    return inserted, updated
