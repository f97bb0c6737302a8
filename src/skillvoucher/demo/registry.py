"""The demo's registry: the people file a bureau would upload, and the same people stored.

On SQLite (the small demo) the file goes through ``skillvoucher import people`` like any
upload. On PostgreSQL the people are stored as they are made, with COPY: the registry import's
own row builder makes each row (the keyed ID digest, the mask, the content digest are what the
import would store), and each chunk is one transaction with the audit event the import writes
for a chunk. The import's upsert checks every row against what is stored, which a brand-new
registry does not need and which made it the pilot's longest step.

A large registry is made by two worker processes, each for its own cities (so resident IDs
stay unique) and with its own seed, while this process writes the file and streams the COPY
text: making a person's row costs tens of microseconds of Python, which one process cannot
spread over two cores. Who will claim or be named on a roster is noted as the people are made
(``Applicants``), by each worker for its share, and merged in worker order, so one seed gives
the same demo.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from queue import Empty
from random import Random
from typing import Any

from sqlalchemy.orm import Session

from skillvoucher.application import registry_import
from skillvoucher.application.context import AppContext
from skillvoucher.application.registry_import import _person_row
from skillvoucher.config import Settings
from skillvoucher.demo.files import PEOPLE_HEADER, people_file_row, write_people
from skillvoucher.demo.synthetic import SyntheticPerson, generate_people
from skillvoucher.persistence.bulk_copy import copy_line, copy_lines, text_id
from skillvoucher.persistence.tables import Person, PersonDirectory

# People per transaction: large enough that COPY streams, small enough to keep memory flat.
_CHUNK = 50_000
_COLUMNS = tuple(column.name for column in Person.__table__.columns)
# Worker processes for a registry of at least _PARALLEL_FROM people (two cores here; below
# that size, starting them costs more than they save).
_WORKERS = 2
_PARALLEL_FROM = 200_000
_GRADUATE_GROUPS = frozenset({"college_graduate", "unemployed_graduate"})


class Applicants:
    """Who will claim or be named on a roster, noted while the registry is made: the first
    ``claimants`` graduates living in Taiyuan, and up to ``roster`` employees of each
    enterprise."""

    def __init__(self, claimants: int, roster: int) -> None:
        self._claimants = claimants
        self._roster = roster
        self.graduates: list[SyntheticPerson] = []
        self.employees: dict[str, list[SyntheticPerson]] = defaultdict(list)

    def note(self, person: SyntheticPerson) -> None:
        if (
            person.household_region == "140100"
            and _GRADUATE_GROUPS.intersection(person.target_groups)
            and len(self.graduates) < self._claimants
        ):
            self.graduates.append(person)
        employer = person.employer_credit_code
        if employer is not None and employer.startswith("91"):
            roster = self.employees[employer]
            if len(roster) < self._roster:
                roster.append(person)

    def add(self, other: Applicants) -> None:
        """Take ``other``'s, after this one's, within the same limits."""
        for person in other.graduates:
            if len(self.graduates) < self._claimants:
                self.graduates.append(person)
        for employer, people in other.employees.items():
            roster = self.employees[employer]
            roster.extend(people[: max(0, self._roster - len(roster))])


@dataclass(frozen=True)
class RegistryPlan:
    """The people to make: ``count`` of them aged as on ``today``, living in ``cities``,
    employed (if at all) by ``employers``; and who to note as applicants."""

    count: int
    cities: Sequence[str]
    employers: Sequence[str]
    today: date
    seed: int
    claimants: int
    roster: int

    def shares(self, workers: int) -> list[RegistryPlan]:
        """One plan per worker: its own cities, a count in proportion, its own seed."""
        groups = [list(self.cities[w::workers]) for w in range(workers)]
        counts = [self.count * len(group) // len(self.cities) for group in groups]
        counts[-1] += self.count - sum(counts)
        seeds = Random(self.seed)
        return [
            RegistryPlan(n, group, self.employers, self.today, seeds.randrange(2**32), *self.limits)
            for group, n in zip(groups, counts, strict=True)
        ]

    @property
    def limits(self) -> tuple[int, int]:
        return self.claimants, self.roster

    def people(self) -> Iterator[SyntheticPerson]:
        return generate_people(
            Random(self.seed), self.count, self.cities, self.employers, self.today
        )


def load_registry(
    ctx: AppContext,
    plan: RegistryPlan,
    path: Path,
    progress: Callable[[int], None] | None = None,
) -> Applicants:
    """Make ``plan``'s people, write them to the registry file at ``path`` and store them in an
    empty registry; returns who was noted as applicants."""
    if ctx.engine.dialect.name != "postgresql":
        applicants = Applicants(*plan.limits)
        people = plan.people()
        write_people(path, (_noted(applicants, p) for p in people))
        registry_import.import_people(ctx, path, progress=progress)
        return applicants
    _ = ctx.digest("")  # the digest key exists before any worker reads it
    parallel = plan.count >= _PARALLEL_FROM
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        known = uow.regions.existing_codes()
    noted: list[Applicants] = []
    if parallel:
        chunks = _made_by_workers(ctx.settings, plan, known, now, noted)
    else:
        noted.append(Applicants(*plan.limits))
        chunks = _made_here(ctx, plan, known, now, noted[0])
    stored = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerow(PEOPLE_HEADER)
        for count, file_text, people_text, directory_text in chunks:
            handle.write(file_text)
            store_chunk(ctx, path.name, count, copied_people(people_text, directory_text))
            stored += count
            if progress is not None:
                progress(stored)
    applicants = Applicants(*plan.limits)
    for share in noted:
        applicants.add(share)
    # Fresh statistics for the planner: the eligibility queries that follow scan this table.
    with ctx.engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE people")
        connection.commit()
    return applicants


def _noted(applicants: Applicants, person: SyntheticPerson) -> SyntheticPerson:
    applicants.note(person)
    return person


Chunk = tuple[int, str, str, str]
"""How many people, their lines of the registry file, their rows and their entries in the
national directory as COPY text."""


def _chunk(ctx: AppContext, people: list[SyntheticPerson], known: set[str], now: datetime) -> Chunk:
    file_text = io.StringIO()
    writer = csv.writer(file_text)
    rows = []
    entries = []
    for person in people:
        line = people_file_row(person)
        writer.writerow(line)
        values = _person_row(ctx, dict(zip(PEOPLE_HEADER, line, strict=True)), known, known)
        values.update(id=text_id(), created_at=now, updated_at=now)
        rows.append(copy_line([values[column] for column in _COLUMNS]))
        entries.append(copy_line(directory_entry(values)))
    return len(people), file_text.getvalue(), "".join(rows), "".join(entries)


def _made_here(
    ctx: AppContext, plan: RegistryPlan, known: set[str], now: datetime, applicants: Applicants
) -> Iterator[Chunk]:
    people = plan.people()
    while chunk := list(islice(people, _CHUNK)):
        for person in chunk:
            applicants.note(person)
        yield _chunk(ctx, chunk, known, now)


def _worker(
    settings: Settings, plan: RegistryPlan, known: set[str], now: datetime, queue: Any
) -> None:
    """Make ``plan``'s chunks and put them on ``queue``, then the applicants it noted."""
    ctx = AppContext.from_settings(settings)
    applicants = Applicants(*plan.limits)
    try:
        for chunk in _made_here(ctx, plan, known, now, applicants):
            queue.put(chunk)
        queue.put(applicants)
    finally:
        ctx.close()
        queue.put(None)


def _made_by_workers(
    settings: Settings,
    plan: RegistryPlan,
    known: set[str],
    now: datetime,
    noted: list[Applicants],
) -> Iterator[Chunk]:
    """The chunks of ``plan`` made by worker processes; once all are read, ``noted`` holds each
    worker's applicants in worker order."""
    shares = plan.shares(_WORKERS)
    spawn = multiprocessing.get_context("spawn")
    # Two chunks waiting per worker at most: memory stays flat whatever the registry's size.
    queues = [spawn.Queue(maxsize=2) for _ in shares]
    processes = [
        spawn.Process(target=_worker, args=(settings, share, known, now, queue), daemon=True)
        for share, queue in zip(shares, queues, strict=True)
    ]
    for process in processes:
        process.start()
    by_worker: list[Applicants | None] = [None] * len(shares)
    try:
        running = set(range(len(shares)))
        while running:
            for index in sorted(running):  # in turn: each worker is read as fast as it makes
                item = _next_from(queues[index], processes[index])
                if item is None:
                    running.discard(index)
                elif isinstance(item, Applicants):
                    by_worker[index] = item
                else:
                    yield item
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
    if any(applicants is None for applicants in by_worker):
        codes = [process.exitcode for process in processes]
        raise RuntimeError(f"a registry worker failed (exit codes {codes})")
    noted.extend(a for a in by_worker if a is not None)


def _next_from(queue: Any, process: Any) -> Chunk | Applicants | None:
    while True:
        try:
            item: Chunk | Applicants | None = queue.get(timeout=5)
            return item
        except Empty:
            if not process.is_alive():  # killed without a word (out of memory, a signal)
                return None


def store_chunk(
    ctx: AppContext, source: str, count: int, write: Callable[[Session], object]
) -> None:
    """One transaction: a chunk of new people, written by ``write``, and the audit event the
    registry import records for a chunk of ``source``."""
    now = ctx.clock()
    with ctx.unit_of_work() as uow:
        write(uow.session)
        uow.audit.record(
            at=now,
            actor=ctx.actor,
            action="registry.people_imported",
            entity_type="import",
            entity_id=source,
            region_code="140000",
            payload={"rows": count, "inserted": count, "updated": 0},
        )
        uow.commit()


def directory_entry(person: dict[str, Any]) -> list[Any]:
    """A new person's row of ``person_directory``, in ``DIRECTORY_COLUMNS`` order."""
    return [person["id_digest"], person["province_code"], person["id"]]


DIRECTORY_COLUMNS = ("id_digest", "province_code", "person_id")


def copied_people(people_text: str, directory_text: str) -> Callable[[Session], object]:
    """The write of a chunk of new people: their rows and their entries in the national
    directory (``PersonDirectory``), both by COPY, in one transaction with ``store_chunk``."""

    def write(session: Session) -> None:
        copy_lines(session, Person.__tablename__, _COLUMNS, (people_text,))
        copy_lines(session, PersonDirectory.__tablename__, DIRECTORY_COLUMNS, (directory_text,))

    return write
