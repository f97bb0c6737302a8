"""Bulk push issuance at registry size (issue 5, point 3).

Times ``application.issuance.push_issue`` — the path ``skillvoucher issue SCHEME`` runs: chunks
of ``settings.chunk_size`` people, each one transaction (two at a time on PostgreSQL, each on a
connection of its own) with the vouchers written by COPY, one commitment journal for the chunk
(one posting per voucher into its committed bucket, one out of the scheme's budget) and one
audit event naming the chunk's vouchers; the codes are signed when first shown, not here — for
a push scheme whose quota and budget cover everyone eligible. The baseline, measured right
after in the same run, is the raw COPY of the very voucher rows the push wrote (all columns),
read back and written again:

- into a logged table made ``LIKE vouchers INCLUDING ALL`` (the same indexes and checks, WAL
  written as for the real table; no foreign keys, no triggers): the goal's baseline, the same
  rows into the same kind of table;
- into a temporary table ``(LIKE vouchers)``, no index, no WAL: the fastest the rows can go.

Only the COPY calls and their commits are timed, not reading the rows back or formatting them
(spelling them as COPY text is timed apart and reported beside; until 2026-12-05 it was timed
with the COPY by mistake, about 40 % of the baseline's time: that earlier measure is reported
too, without a verdict).
The push does more than the baseline does (it selects the eligible people, checks the vouchers'
and the postings' foreign keys, writes a ledger posting per voucher and an audit event per
chunk): that is the cost the ratio measures. On SQLite, which has no COPY, the baseline is
batched INSERTs into an index-free copy of the table.

Memory is this process's resident set (PostgreSQL's own memory is not counted): its peak during
the push above what it was before, read from Linux's ``VmHWM`` after resetting it through
``/proc/self/clear_refs`` (elsewhere ``ru_maxrss``, which may include earlier peaks), and its
growth between the first chunk and the last, which is what "flat in the number of vouchers"
asks.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from benchmarks.bulk_rows import copy_line
from benchmarks.outcome import Check, Comparison, Figure, Outcome
from skillvoucher.application import funds, schemes
from skillvoucher.application.context import AppContext
from skillvoucher.application.issuance import eligible_count, push_issue
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.application.scheme_files import parse_scheme_document
from skillvoucher.demo.schemes import target_group_scheme
from skillvoucher.persistence.tables import Scheme, Voucher

GOAL_SHARE = 0.30
# Below this many vouchers fixed costs (the scheme's checks, the counts) dominate: no verdict.
GOAL_MIN_VOUCHERS = 10_000
SCHEME_CODE = "BENCH-PUSH"
_COPY_CHUNK = 50_000
_COLUMNS = tuple(c.name for c in Voucher.__table__.columns)
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class _Target:
    label: str
    table: str
    create: str
    goal: bool  # the goal's baseline (the other one is reported beside it)


def _targets(backend: str) -> list[_Target]:
    if backend == "postgresql":
        return [
            _Target(
                "COPY into a logged copy of vouchers with its indexes",
                "bench_voucher_copy",
                "CREATE TABLE bench_voucher_copy (LIKE vouchers INCLUDING ALL)",
                goal=True,
            ),
            _Target(
                "COPY into a temp table (LIKE vouchers), no index",
                "bench_voucher_copy_temp",
                "CREATE TEMP TABLE bench_voucher_copy_temp (LIKE vouchers)",
                goal=False,
            ),
        ]
    return [
        _Target(
            "batched INSERT into a copy of vouchers, no index (SQLite: no COPY)",
            "bench_voucher_copy",
            "CREATE TABLE bench_voucher_copy AS SELECT * FROM vouchers WHERE 0",
            goal=True,
        )
    ]


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _rss_kib() -> int:
    return _status_kib("VmRSS") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak() -> bool:
    """Reset the kernel's peak resident set of this process (Linux 4.0 and later)."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _peak_kib() -> int:
    return _status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _create_push_scheme(ctx: AppContext, quota: int) -> None:
    """The province's target-group push scheme, its quota and budget covering ``quota``."""
    doc = target_group_scheme(2026, quota=quota)
    doc["code"] = SCHEME_CODE
    funds.deposit(ctx, doc["region"], doc["budget_fen"], "benchmark issuance")
    schemes.create_scheme(ctx, parse_scheme_document(doc))


def _scheme_state(ctx: AppContext) -> tuple[Any, int, int]:
    """(scheme id, quota, issued count)."""
    with ctx.engine.connect() as connection:
        row = connection.execute(
            sa.select(Scheme.id, Scheme.quota, Scheme.issued_count).where(
                Scheme.code == SCHEME_CODE
            )
        ).one()
    return row.id, row.quota, row.issued_count


def _holders(ctx: AppContext, scheme_id: Any) -> tuple[int, int]:
    """(vouchers of the scheme, distinct people holding them)."""
    stmt = sa.select(sa.func.count(), sa.func.count(sa.distinct(Voucher.person_id))).where(
        Voucher.scheme_id == scheme_id
    )
    with ctx.engine.connect() as connection:
        vouchers, people = connection.execute(stmt).one()
    return int(vouchers), int(people)


def _voucher_chunks(connection: sa.Connection, scheme_id: Any) -> Iterator[list[tuple[Any, ...]]]:
    """The scheme's voucher rows, all columns, by id in chunks, as the driver returns them (no
    type decorators): what a COPY or an INSERT takes back as it is."""
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    # SQLite holds UUIDs as 32 hex characters (SQLAlchemy's Uuid without a native type).
    scheme = scheme_id.hex if sqlite else scheme_id
    select = f"SELECT {', '.join(_COLUMNS)} FROM vouchers WHERE scheme_id = {mark}"
    after: Any = None
    while True:
        params: tuple[Any, ...]
        if after is None:
            sql, params = f"{select} ORDER BY id LIMIT {_COPY_CHUNK}", (scheme,)
        else:
            sql = f"{select} AND id > {mark} ORDER BY id LIMIT {_COPY_CHUNK}"
            params = (scheme, after)
        rows = [tuple(row) for row in connection.exec_driver_sql(sql, params)]
        # End the read before the rows are written: SQLite's writer would wait for it.
        connection.rollback()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def _copy_text(rows: list[tuple[Any, ...]]) -> str:
    """The rows in COPY's text format (not timed as part of the COPY)."""
    return "".join(map(copy_line, rows))


def _write(
    connection: sa.Connection, target: _Target, rows: list[tuple[Any, ...]], text: str
) -> None:
    driver = connection.connection.driver_connection
    assert driver is not None
    if connection.dialect.name == "sqlite":
        marks = ", ".join("?" * len(_COLUMNS))
        driver.executemany(f"INSERT INTO {target.table} VALUES ({marks})", rows)
        return
    statement = f"COPY {target.table} ({', '.join(_COLUMNS)}) FROM STDIN"
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(text)


@contextmanager
def _scratch(connection: sa.Connection, targets: list[_Target]) -> Iterator[None]:
    for target in targets:
        connection.exec_driver_sql(target.create)
    connection.commit()
    try:
        yield
    finally:
        connection.rollback()
        for target in targets:
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {target.table}")
        connection.commit()


@dataclass
class _Baseline:
    spent: dict[str, tuple[int, float]]
    """Rows written and seconds spent in the writes and commits, for each scratch table."""
    spelled: tuple[int, float] = (0, 0.0)
    """Rows spelled as COPY text and the seconds that took (PostgreSQL; not in ``spent``)."""


def _copy_baseline(ctx: AppContext, scheme_id: Any) -> _Baseline:
    targets = _targets(ctx.engine.dialect.name)
    baseline = _Baseline({t.label: (0, 0.0) for t in targets})
    postgres = ctx.engine.dialect.name == "postgresql"
    with (
        ctx.engine.connect() as reader,
        ctx.engine.connect() as writer,
        _scratch(writer, targets),
    ):
        for rows in _voucher_chunks(reader, scheme_id):
            start = time.perf_counter()
            text = _copy_text(rows) if postgres else ""
            count, seconds = baseline.spelled
            baseline.spelled = (count + len(rows), seconds + time.perf_counter() - start)
            for target in targets:
                start = time.perf_counter()
                _write(writer, target, rows, text)
                writer.commit()
                count, seconds = baseline.spent[target.label]
                baseline.spent[target.label] = (
                    count + len(rows),
                    seconds + time.perf_counter() - start,
                )
    return baseline


@dataclass
class _Memory:
    """Resident set samples taken after each chunk (KiB)."""

    first_chunk: int | None = None
    last_chunk: int | None = None

    def sample(self, issued: int, total: int) -> None:
        rss = _rss_kib()
        if self.first_chunk is None:
            self.first_chunk = rss
        self.last_chunk = rss


def run(ctx: AppContext, size: int) -> Outcome:
    started = time.perf_counter()
    backend = ctx.engine.dialect.name
    outcome = Outcome("issuance", f"Bulk push issuance, {size:,} people", backend)
    _create_push_scheme(ctx, quota=max(size, 1))
    eligible = eligible_count(ctx, SCHEME_CODE)
    scheme_id, quota, issued_before = _scheme_state(ctx)
    memory = _Memory()
    rss_before = _rss_kib()
    exact_peak = _reset_peak()
    push_start = time.perf_counter()
    result = push_issue(ctx, SCHEME_CODE, progress=memory.sample)
    push_seconds = time.perf_counter() - push_start
    peak = _peak_kib()
    issued = result.issued
    rate = issued / push_seconds if push_seconds else 0.0
    outcome.figures += [
        Figure("eligible people (quota covers all)", eligible, "people"),
        Figure("vouchers issued by push_issue", issued, "vouchers"),
        Figure("chunk size (settings.chunk_size)", ctx.settings.chunk_size, "people"),
        Figure("push_issue wall time", push_seconds, "s"),
        Figure("push_issue rate", rate, "vouchers/s"),
        Figure("RSS before the push", rss_before / 1024, "MiB"),
        Figure(
            "peak RSS during the push" + ("" if exact_peak else " (ru_maxrss: of the whole run)"),
            peak / 1024,
            "MiB",
        ),
        Figure("peak RSS growth during the push", (peak - rss_before) / 1024, "MiB"),
        Figure("RSS after the first chunk", (memory.first_chunk or 0) / 1024, "MiB"),
        Figure(
            "RSS growth from the first chunk to the last",
            ((memory.last_chunk or 0) - (memory.first_chunk or 0)) / 1024,
            "MiB",
        ),
    ]
    baseline = _copy_baseline(ctx, scheme_id)
    spelled, spelling = baseline.spelled
    if spelling:
        outcome.figures.append(
            Figure(
                "baseline rows spelled as COPY text (copy_line; not timed in the baselines)",
                spelled / spelling,
                "rows/s",
            )
        )
    for label, (count, seconds) in baseline.spent.items():
        copy_rate = count / seconds if seconds else 0.0
        outcome.figures.append(Figure(f"baseline: {label}", copy_rate, "rows/s"))
        share = rate / copy_rate if copy_rate else 0.0
        outcome.comparisons.append(
            Comparison(
                f"push ÷ {label} (rate)",
                f"{rate:,.0f}/s",
                f"{copy_rate:,.0f}/s",
                share,
                f"≥ {GOAL_SHARE:.0%}",
                None if issued < GOAL_MIN_VOUCHERS else share >= GOAL_SHARE,
            )
        )
        outcome.checks.append(
            Check(f"baseline copied every voucher ({label})", count == issued, f"{count:,}")
        )
        if spelling and any(t.goal and t.label == label for t in _targets(backend)):
            with_spelling = count / (seconds + spelling)
            outcome.comparisons.append(
                Comparison(
                    "push ÷ (spelling the rows + COPY into the logged copy), the earlier measure",
                    f"{rate:,.0f}/s",
                    f"{with_spelling:,.0f}/s",
                    rate / with_spelling,
                    "(no goal)",
                    None,
                )
            )
    _, _, issued_after = _scheme_state(ctx)
    vouchers, holders = _holders(ctx, scheme_id)
    problems = ledger_problems(ctx)
    outcome.checks += [
        Check(
            "issued = eligible = quota used = vouchers of the scheme",
            issued == eligible == issued_after - issued_before == vouchers,
            f"{issued:,} issued, {eligible:,} eligible, {issued_after - issued_before:,} "
            f"quota used, {vouchers:,} vouchers",
        ),
        Check("the quota covered everyone eligible", eligible <= quota, f"quota {quota:,}"),
        Check("nobody eligible is left", result.eligible_left == 0, f"{result.eligible_left}"),
        Check("no person holds two vouchers", holders == vouchers, f"{holders:,} holders"),
        Check("ledger_problems(ctx) is empty", not problems, "; ".join(problems[:3]) or "none"),
    ]
    outcome.seconds = time.perf_counter() - started
    return outcome
