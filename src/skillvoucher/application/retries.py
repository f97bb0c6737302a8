"""Run one chunk of a bulk job again when the database failed it for a passing reason.

Bulk jobs (push issuance, expiry, settlement runs, file imports) commit one chunk per unit of
work. A chunk that lost its connection (a PostgreSQL restart, a network cut) or that
PostgreSQL refused as a serialization failure or a deadlock is run again here, after an
exponential backoff with jitter, a bounded number of times; the job then goes on in the same
call instead of stopping half-way.

Running a chunk again is only safe because every job that uses this re-selects its work from
the database in each attempt, so a chunk whose transaction rolled back is redone and one whose
commit landed although its connection broke during the commit is found done. Each call site
says why that holds for it. The database, the ledger and the audit trail are then exact; a
run's own count of a landed chunk is not always: push issuance counts by the quota and stays
exact, but expiry leaves such a chunk out of its count, a settlement run counts its batch as
existing already, and an import counts its rows as unchanged.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from skillvoucher.application.context import AppContext
from skillvoucher.persistence.database import DatabaseUnavailable, lost_connection, transient

T = TypeVar("T")

log = logging.getLogger(__name__)


def retry_chunk(
    ctx: AppContext,
    job: str,
    chunk: Callable[[], T],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``chunk()``'s result, running it up to ``settings.retry_attempts`` times while it fails
    with a lost connection, a serialization failure or a deadlock. ``chunk`` must be one unit
    of work that is safe to run again (see the module docstring). Raises DatabaseUnavailable
    once the attempts are used up; any other error at once."""
    attempts = ctx.settings.retry_attempts
    for attempt in range(1, attempts + 1):
        try:
            return chunk()
        except Exception as error:
            reason = _passing_reason(error)
            if reason is None:
                raise
            if attempt == attempts:
                raise DatabaseUnavailable(
                    f"{job}: the database failed the same chunk {attempts} times ({reason}); "
                    "the chunks before it are saved and running the job again resumes it"
                ) from error
            delay = backoff(ctx.settings.retry_base_seconds, attempt)
            # The job and the cause only: an error's text can carry SQL parameters (people).
            log.warning(
                "%s: chunk failed (%s); retry %d of %d in %.2f s",
                job,
                reason,
                attempt,
                attempts - 1,
                delay,
            )
            sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def backoff(base_seconds: float, attempt: int) -> float:
    """The wait after failed attempt ``attempt`` (1, 2, …): the base doubled per attempt,
    plus up to as much again at random, so that jobs cut off together do not return
    together."""
    ceiling = base_seconds * 2.0 ** (attempt - 1)
    return ceiling + random.uniform(0, ceiling)  # noqa: S311 (spreading, not secrecy)


def _passing_reason(error: BaseException) -> str | None:
    """Why running the chunk again may succeed, or None if it will not."""
    if isinstance(error, DatabaseUnavailable) or lost_connection(error):
        return "lost connection"
    if transient(error):
        state = getattr(getattr(error, "orig", None), "sqlstate", None)
        return "deadlock" if state == "40P01" else "serialization failure"
    return None
