"""The demo's registry: the people file a bureau would upload, and the same people stored.

On SQLite (the small demo) the file goes through ``skillvoucher import people`` like any
upload. On PostgreSQL the people are stored as they stream past, with COPY: the registry
import's own row builder makes each row (the keyed ID digest, the mask, the content digest are
what the import would store), and each chunk is one transaction with the audit event the
import writes for a chunk. The import's upsert checks every row against what is stored, which
a brand-new registry does not need and which made it the pilot's longest step.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from itertools import islice
from pathlib import Path

from skillvoucher.application import registry_import
from skillvoucher.application.context import AppContext
from skillvoucher.application.registry_import import _person_row
from skillvoucher.demo.files import PEOPLE_HEADER, people_file_row, write_people
from skillvoucher.demo.synthetic import SyntheticPerson
from skillvoucher.domain.ids import new_id
from skillvoucher.persistence.bulk_copy import copy_line, copy_lines
from skillvoucher.persistence.tables import Person

# People per transaction: large enough that COPY streams, small enough to keep memory flat.
_CHUNK = 50_000
_COLUMNS = tuple(column.name for column in Person.__table__.columns)


def load_people(
    ctx: AppContext,
    people: Iterable[SyntheticPerson],
    path: Path,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write ``people`` to the registry file at ``path`` and store them in an empty registry;
    returns how many."""
    if ctx.engine.dialect.name != "postgresql":
        count = write_people(path, people)
        registry_import.import_people(ctx, path, progress=progress)
        return count
    with ctx.unit_of_work() as uow:
        known = uow.regions.existing_codes()
    stored = 0
    stream = iter(people)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(PEOPLE_HEADER)
        while chunk := list(islice(stream, _CHUNK)):
            now = ctx.clock()
            lines = []
            for person in chunk:
                line = people_file_row(person)
                writer.writerow(line)
                values = _person_row(ctx, dict(zip(PEOPLE_HEADER, line, strict=True)), known, known)
                values.update(id=new_id(), created_at=now, updated_at=now)
                lines.append(copy_line([values[column] for column in _COLUMNS]))
            with ctx.unit_of_work() as uow:
                copy_lines(uow.session, Person.__tablename__, _COLUMNS, lines)
                uow.audit.record(
                    at=now,
                    actor=ctx.actor,
                    action="registry.people_imported",
                    entity_type="import",
                    entity_id=path.name,
                    region_code="140000",
                    payload={"rows": len(chunk), "inserted": len(chunk), "updated": 0},
                )
                uow.commit()
            stored += len(chunk)
            if progress is not None:
                progress(stored)
    # Fresh statistics for the planner: the eligibility queries that follow scan this table.
    with ctx.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE people")
        connection.commit()
    return stored
