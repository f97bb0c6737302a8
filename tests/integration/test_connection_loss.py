"""PostgreSQL restarts and dropped connections: a connection the server killed while it sat in
the pool costs no request, and a connection killed in the middle of a transaction leaves nothing
half-written, answers a clear "try again" (503 with Retry-After through the API), and the same
operation then succeeds. Connections are killed with pg_terminate_backend, which is what a
server restart or an administrator does to them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from builders import deposit
from principals import staff_headers
from skillvoucher.api.app import create_app
from skillvoucher.application import funds
from skillvoucher.application.context import AppContext
from skillvoucher.application.ledger_checks import ledger_problems
from skillvoucher.domain.access import Role
from skillvoucher.domain.ledger import Account
from skillvoucher.persistence.database import DatabaseUnavailable

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]
CITY = "140100"


def _terminate(database_url: str, pids: list[int]) -> None:
    killer = sa.create_engine(database_url)
    try:
        with killer.connect() as connection:
            for pid in pids:
                connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        killer.dispose()


def _pooled_backend_pids(ctx: AppContext) -> list[int]:
    with ctx.engine.connect() as connection:
        pid: int = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    return [pid]


@contextmanager
def killed_at_first(ctx: AppContext, database_url: str, statement_prefix: str) -> Iterator[None]:
    """Kill the connection that is about to run the first statement starting with
    ``statement_prefix`` (inside a use case's transaction), as a restart would."""
    fired = False

    def kill(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal fired
        if fired or not statement.lstrip().upper().startswith(statement_prefix):
            return
        fired = True
        _terminate(database_url, [conn.connection.dbapi_connection.info.backend_pid])

    def kill_at_commit(conn: Any) -> None:
        kill(conn, None, "COMMIT")

    # SQLAlchemy commits through the driver, not a statement: the commit event stands for it.
    hooks: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", kill),
        ("commit", kill_at_commit),
    ]
    for name, hook in hooks:
        sa.event.listen(ctx.engine, name, hook)
    try:
        yield
    finally:
        for name, hook in hooks:
            sa.event.remove(ctx.engine, name, hook)
    assert fired, f"no {statement_prefix} statement ran"


def _balance(ctx: AppContext) -> int:
    balances = {b.region_code: b for b in funds.fund_balances(ctx)}
    return balances[CITY].balances.get(Account.FUND_AVAILABLE, 0) if CITY in balances else 0


def test_a_connection_killed_while_idle_in_the_pool_costs_nothing(
    ctx: AppContext, database_url: str
) -> None:
    deposit(ctx, 1_000_00)
    _terminate(database_url, _pooled_backend_pids(ctx))  # the pooled connection is now dead

    deposit(ctx, 2_000_00)  # pre-ping replaces it: no error reaches the use case

    assert _balance(ctx) == 3_000_00
    assert ledger_problems(ctx) == []


def test_a_connection_killed_mid_transaction_saves_nothing_and_the_retry_succeeds(
    ctx: AppContext, database_url: str
) -> None:
    deposit(ctx, 1_000_00)
    with killed_at_first(ctx, database_url, "INSERT"), pytest.raises(DatabaseUnavailable) as lost:
        deposit(ctx, 5_000_00)
    assert "before anything was saved" in lost.value.message
    assert lost.value.code == "database_unavailable"
    assert _balance(ctx) == 1_000_00  # no half-written deposit
    assert ledger_problems(ctx) == []

    deposit(ctx, 5_000_00)  # the same operation again, on a fresh connection
    assert _balance(ctx) == 6_000_00
    assert ledger_problems(ctx) == []


def test_a_connection_killed_during_commit_says_the_outcome_must_be_checked(
    ctx: AppContext, database_url: str
) -> None:
    with killed_at_first(ctx, database_url, "COMMIT"), pytest.raises(DatabaseUnavailable) as lost:
        deposit(ctx, 5_000_00)
    assert "while committing" in lost.value.message
    assert ledger_problems(ctx) == []


def test_the_api_answers_503_with_retry_after_and_the_retry_succeeds(
    ctx: AppContext, database_url: str
) -> None:
    with TestClient(create_app(ctx)) as client:
        headers = staff_headers(ctx, Role.PROVINCE_ADMIN, region_code="140000")
        body = {"amount_fen": 3_000_00, "reference": "2026 拨付"}
        url = f"/api/v1/funds/{CITY}/deposits"
        with killed_at_first(ctx, database_url, "INSERT"):
            answer = client.post(url, headers=headers, json=body)
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"] == "5"
        assert answer.json()["code"] == "database_unavailable"
        assert _balance(ctx) == 0

        again = client.post(url, headers=headers, json=body)
        assert again.status_code == 201, again.text
        assert _balance(ctx) == 3_000_00
