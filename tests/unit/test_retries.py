"""The retry policy of bulk jobs: which database errors are worth another attempt, the backoff
between attempts, and the clear error once they are used up."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import cast

import psycopg
import pytest
import sqlalchemy as sa

from skillvoucher.application.context import AppContext
from skillvoucher.application.retries import backoff, retry_chunk
from skillvoucher.config import Settings
from skillvoucher.domain.errors import NotFound
from skillvoucher.persistence.database import DatabaseUnavailable, transient

PERSONAL = "张三 140102199001011234"  # what an error's SQL parameters could carry


class _PgError(psycopg.OperationalError):
    def __init__(self, sqlstate: str | None) -> None:
        self._state = sqlstate
        super().__init__(f"server said no about {PERSONAL}")

    @property
    def sqlstate(self) -> str | None:  # type: ignore[override]
        return self._state


def _operational(sqlstate: str | None) -> sa.exc.OperationalError:
    return sa.exc.OperationalError("UPDATE people", {"name": PERSONAL}, _PgError(sqlstate))


def _context(attempts: int = 4, base: float = 0.1) -> AppContext:
    settings = Settings(retry_attempts=attempts, retry_base_seconds=base)
    return cast(AppContext, SimpleNamespace(settings=settings))


class _Flaky:
    """Fails with the given errors, in order, then answers 42."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return 42


def test_serialization_failures_and_deadlocks_are_transient() -> None:
    assert transient(_operational("40001"))  # serialization_failure
    assert transient(_operational("40P01"))  # deadlock_detected


def test_other_errors_are_not_transient() -> None:
    assert not transient(_operational("08006"))  # a lost connection: lost_connection's case
    assert not transient(_operational("55P03"))  # lock not available (NOWAIT): a real answer
    assert not transient(_operational(None))
    assert not transient(sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not transient(ValueError("nothing to do with the database"))


def test_a_chunk_is_run_again_after_lost_connections_and_transient_refusals(
    caplog: pytest.LogCaptureFixture,
) -> None:
    chunk = _Flaky(
        DatabaseUnavailable("the database connection broke before anything was saved"),
        _operational("40001"),
        _operational("40P01"),
    )
    waits: list[float] = []
    with caplog.at_level(logging.WARNING, logger="skillvoucher.application.retries"):
        assert retry_chunk(_context(), "push issuance", chunk, sleep=waits.append) == 42

    assert chunk.calls == 4
    assert len(waits) == 3
    for attempt, wait in enumerate(waits, start=1):  # doubling, plus up to as much jitter
        assert 0.1 * 2 ** (attempt - 1) <= wait <= 0.2 * 2 ** (attempt - 1)
    messages = [r.getMessage() for r in caplog.records]
    assert [r.levelno for r in caplog.records] == [logging.WARNING] * 3
    assert "lost connection" in messages[0]
    assert "serialization failure" in messages[1]
    assert "deadlock" in messages[2]
    assert all(m.startswith("push issuance: chunk failed") for m in messages)
    assert PERSONAL not in caplog.text  # no SQL parameters, no personal data


def test_after_the_last_attempt_a_clear_database_unavailable_is_raised() -> None:
    chunk = _Flaky(*(_operational("57P01") for _ in range(3)))
    waits: list[float] = []
    with pytest.raises(DatabaseUnavailable) as failed:
        retry_chunk(_context(attempts=3), "expiry", chunk, sleep=waits.append)
    assert chunk.calls == 3
    assert len(waits) == 2
    assert failed.value.code == "database_unavailable"
    assert "expiry: the database failed the same chunk 3 times" in failed.value.message
    assert "running the job again resumes it" in failed.value.message
    assert PERSONAL not in failed.value.message


def test_other_errors_are_not_retried() -> None:
    for error in (
        NotFound("scheme X is not known"),
        sa.exc.IntegrityError("INSERT", {}, Exception("duplicate key")),
        _operational("55P03"),
    ):
        chunk = _Flaky(error)
        with pytest.raises(type(error)):
            retry_chunk(_context(), "settlement run", chunk, sleep=lambda _: None)
        assert chunk.calls == 1


def test_one_attempt_means_no_retry() -> None:
    chunk = _Flaky(_operational("40001"))
    with pytest.raises(DatabaseUnavailable):
        retry_chunk(_context(attempts=1), "expiry", chunk, sleep=lambda _: None)
    assert chunk.calls == 1


def test_the_backoff_doubles_and_its_jitter_stays_within_the_step() -> None:
    for attempt in range(1, 6):
        waits = [backoff(0.2, attempt) for _ in range(200)]
        assert min(waits) >= 0.2 * 2 ** (attempt - 1)
        assert max(waits) <= 0.4 * 2 ** (attempt - 1)
        assert len(set(waits)) > 1  # jittered
