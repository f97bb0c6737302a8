"""A realistic people registry of any size, written the way the registry import writes it.

People come from the demo's synthetic generator (``demo.synthetic.generate_people``: real
surname frequencies, valid resident IDs, target groups consistent with age and employment) and
become rows through the registry import's own row builder (``_person_row``, private to it:
using it rather than a copy is what keeps the two in step), so every column — the keyed ID
digest, the mask, the content digest — is what ``skillvoucher import people`` would store.
Only the write differs: COPY in chunks of one transaction each, each with the audit event the
import writes per chunk, instead of the import's upsert.

With ``workers`` > 1 on PostgreSQL, worker processes build the rows (each for its own cities,
so resident IDs stay unique) and the parent only streams their COPY text to the server. One is
the default: on this 2-core machine, shared with other work, two workers were slower (8.5 k
against 11.5 k rows/s for 100 k people), the server's COPY needing a core of its own.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from random import Random
from typing import Any

import sqlalchemy as sa

from benchmarks.bulk_rows import Row, copy_line, copy_text, write_rows
from skillvoucher.application.context import AppContext
from skillvoucher.application.registry_import import _person_row
from skillvoucher.config import Settings
from skillvoucher.demo.registry import DIRECTORY_COLUMNS, store_chunk
from skillvoucher.demo.synthetic import SyntheticPerson, generate_credit_code, generate_people
from skillvoucher.domain.ids import new_id
from skillvoucher.domain.regions import RegionLevel, builtin_regions
from skillvoucher.persistence.tables import Person, PersonDirectory

REGISTRY_DAY = date(2026, 3, 1)
SOURCE = "benchmark-registry"
CHUNK = 50_000
ENTERPRISES = 2_000
COLUMNS = tuple(column.name for column in Person.__table__.columns)
# Where a person row's directory entry (demo.registry.DIRECTORY_COLUMNS) comes from.
_ENTRY_FROM = tuple(COLUMNS.index(column) for column in ("id_digest", "province_code", "id"))


@dataclass(frozen=True)
class RegistryLoad:
    people: int
    seconds: float
    reused: bool
    workers: int

    @property
    def rows_per_second(self) -> float:
        return self.people / self.seconds if self.seconds else 0.0


def shanxi_cities() -> list[str]:
    return [
        r.code for r in builtin_regions() if r.level is RegionLevel.CITY and r.code.startswith("14")
    ]


def employers(seed: int) -> list[str]:
    """About 2,000 enterprises across Shanxi's cities, the same for every worker."""
    rng = Random(seed)
    per_city = ENTERPRISES // len(shanxi_cities()) + 1
    return [
        generate_credit_code(rng, c, "enterprise") for c in shanxi_cities() for _ in range(per_city)
    ]


def synthetic_people(size: int, seed: int) -> Iterator[SyntheticPerson]:
    """The people one process generates for a registry of ``size`` (workers=1)."""
    return generate_people(Random(seed), size, shanxi_cities(), employers(seed), REGISTRY_DAY)


def file_row(p: SyntheticPerson) -> dict[str, str]:
    """The person as a line of the registry file the import reads (demo.files.write_people)."""
    return {
        "resident_id": p.resident_id,
        "name": p.name,
        "household_region": p.household_region,
        "mobile": p.mobile,
        "card_status": p.ssc_card_status,
        "employer_credit_code": p.employer_credit_code or "",
        "target_groups": ";".join(p.target_groups),
    }


def person_rows(
    ctx: AppContext, people: Iterable[SyntheticPerson], known: set[str], now: datetime
) -> Iterator[Row]:
    """What the registry import stores for each person, in ``COLUMNS`` order."""
    for p in people:
        values: dict[str, Any] = _person_row(ctx, file_row(p), known, known)
        values.update(id=new_id(), created_at=now, updated_at=now)
        yield tuple(values[column] for column in COLUMNS)


def directory_rows(rows: Iterable[Row]) -> Iterator[Row]:
    """The national directory's entries (``PersonDirectory``) for new people's rows."""
    for row in rows:
        yield tuple(row[i] for i in _ENTRY_FROM)


def _worker(
    settings: Settings,
    now: datetime,
    cities: Sequence[str],
    count: int,
    seed: int,
    queue: Any,
) -> None:
    """Build ``count`` people of ``cities`` and put their COPY text on ``queue`` by chunk."""
    ctx = AppContext.from_settings(settings)
    try:
        known = set(shanxi_cities())
        people = generate_people(Random(seed), count, cities, employers(seed), REGISTRY_DAY)
        while chunk := list(islice(people, CHUNK)):
            rows = list(person_rows(ctx, chunk, known, now))
            entries = directory_rows(rows)
            queue.put((len(chunk), "".join(map(copy_line, rows)), "".join(map(copy_line, entries))))
    finally:
        ctx.close()
        queue.put(None)


def _shares(size: int, workers: int) -> list[tuple[list[str], int]]:
    cities = shanxi_cities()
    groups = [cities[w::workers] for w in range(workers)]
    counts = [size * len(g) // len(cities) for g in groups]
    counts[-1] += size - sum(counts)
    return list(zip(groups, counts, strict=True))


def _load_in_parallel(ctx: AppContext, size: int, seed: int, workers: int) -> int:
    spawn = multiprocessing.get_context("spawn")
    queue = spawn.Queue(maxsize=2 * workers)
    now = ctx.clock()
    processes = [
        spawn.Process(
            target=_worker, args=(ctx.settings, now, cities, count, seed + w, queue), daemon=True
        )
        for w, (cities, count) in enumerate(_shares(size, workers))
    ]
    for process in processes:
        process.start()
    written = finished = 0
    while finished < len(processes):
        item = queue.get()
        if item is None:
            finished += 1
            continue
        count, text, entries = item

        def write(session: Any, text: str = text, entries: str = entries) -> None:
            copy_text(session, Person, COLUMNS, text)
            copy_text(session, PersonDirectory, DIRECTORY_COLUMNS, entries)

        store_chunk(ctx, SOURCE, count, write)
        written += count
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a registry worker failed with exit code {process.exitcode}")
    return written


def _load_in_process(ctx: AppContext, size: int, seed: int) -> int:
    with ctx.unit_of_work() as uow:
        known = uow.regions.existing_codes()
    people = synthetic_people(size, seed)
    written = 0
    while chunk := list(islice(people, CHUNK)):

        def write(session: Any, chunk: list[SyntheticPerson] = chunk) -> None:
            rows = list(person_rows(ctx, chunk, known, ctx.clock()))
            write_rows(session, Person, COLUMNS, rows)
            write_rows(session, PersonDirectory, DIRECTORY_COLUMNS, directory_rows(rows))

        store_chunk(ctx, SOURCE, len(chunk), write)
        written += len(chunk)
    return written


def people_count(ctx: AppContext) -> int:
    with ctx.engine.connect() as connection:
        return int(connection.scalar(sa.select(sa.func.count()).select_from(Person)) or 0)


def load_registry(ctx: AppContext, size: int, seed: int = 2026, workers: int = 1) -> RegistryLoad:
    """Fill an empty people table with ``size`` people; a table already holding exactly
    ``size`` people (a kept benchmark database) is reused as it is."""
    existing = people_count(ctx)
    if existing == size:
        return RegistryLoad(size, 0.0, reused=True, workers=0)
    if existing:
        raise SystemExit(f"the benchmark database holds {existing} people, not {size}")
    parallel = workers > 1 and ctx.engine.dialect.name == "postgresql"
    start = time.perf_counter()
    if parallel:
        written = _load_in_parallel(ctx, size, seed, workers)
    else:
        written = _load_in_process(ctx, size, seed)
    with ctx.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE people")
        connection.commit()
    return RegistryLoad(written, time.perf_counter() - start, False, workers if parallel else 1)
