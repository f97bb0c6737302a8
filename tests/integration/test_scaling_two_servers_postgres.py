"""Two `skillvoucher serve` processes on one PostgreSQL database behave as one service, as
they would behind a load balancer with no sticky sessions: whatever one process remembers, the
other knows, because it lives in PostgreSQL, in Redis or in the shared key folder.

Covered: staff sessions and their sign-out, idempotency keys, the shared rate-limit count, the
worker's e-SSC sign-in round trip (its flow cookie and the simulator's one-time code), and
verifying a voucher signed with a key written after the verifying process loaded its keys.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

import httpx2
import pytest
import redis

from builders import (
    OTHER_CITY,
    Clock,
    deposit,
    import_people,
    issue,
    make_context,
    make_scheme,
    person,
    training_world,
)
from principals import PASSWORD, staff_account, worker_headers
from skillvoucher.application.rate_limits import CONSENT_GRANTS_PER_VOUCHER
from skillvoucher.domain.access import Role

if TYPE_CHECKING:
    from conftest import PostgresDatabase

pytestmark = pytest.mark.postgres

CLI = [sys.executable, "-c", "from skillvoucher.cli.main import main; main()"]
# A Redis database of this test's own: emptied before and after, so that counts of another run
# in the same minute cannot leak in.
REDIS_URL = os.environ.get("SKILLVOUCHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
START_SECONDS = 45


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _serving(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`skillvoucher serve` in a process of its own on ``port``, stopped afterwards."""
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*CLI, "serve", "--port", str(port), "--no-demo"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def _wait_until_up(server: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            if httpx2.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{base} did not come up:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


@dataclass(frozen=True)
class Stage:
    a: str
    b: str
    staff: str
    """A city administrator's username; the password is principals.PASSWORD."""
    revoked_voucher: uuid.UUID
    worker_id_number: str
    worker_voucher: uuid.UUID
    worker_code: str
    worker: dict[str, str]
    """Bearer headers of the worker holding ``worker_voucher``."""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("two-servers")


@pytest.fixture(scope="module")
def stage(postgres_database: PostgresDatabase, data_dir: Path) -> Iterator[Stage]:
    """The two processes, started once for this module's tests (each start takes seconds)."""
    shared = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        shared.flushdb()
    except redis.RedisError as error:
        reason = f"Redis at {REDIS_URL} is unreachable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: the two-process test may not be skipped)")
        pytest.skip(reason)
    postgres_database.reset()
    # Real time, not the tests' usual March 2026: the servers run on the wall clock.
    ctx = make_context(postgres_database.url, data_dir, Clock(datetime.now(UTC)))
    try:
        world = training_world(ctx, people=2)
        revoked, held = (issue(ctx, world.scheme.code, p) for p in world.people)
        staff = staff_account(ctx, Role.CITY_ADMIN)
        with ctx.unit_of_work() as uow:
            holder = uow.people.by_digest(ctx.digest(world.people[1].resident_id))
            assert holder is not None
        worker = worker_headers(ctx, holder.id)
    finally:
        ctx.close()
    ports = _free_port(), _free_port()
    env = {
        **os.environ,
        "SKILLVOUCHER_DATABASE_URL": postgres_database.url,
        "SKILLVOUCHER_DATA_DIR": str(data_dir),
        "SKILLVOUCHER_KEY_DIR": str(data_dir / "keys"),  # the builders' key folder: one for all
        "SKILLVOUCHER_REDIS_URL": REDIS_URL,
        # As behind a load balancer: one callback URL registered at the e-SSC, whichever
        # process started the sign-in. Here it is process A's.
        "SKILLVOUCHER_ESSC_REDIRECT_URI": f"http://127.0.0.1:{ports[0]}/api/v1/auth/essc/callback",
    }
    env.pop("SKILLVOUCHER_READ_DATABASE_URL", None)
    logs = data_dir / "a.log", data_dir / "b.log"
    with ExitStack() as servers:
        a, b = (f"http://127.0.0.1:{port}" for port in ports)
        started = [
            servers.enter_context(_serving(env, port, log))
            for port, log in zip(ports, logs, strict=True)
        ]
        for server, base, log in zip(started, (a, b), logs, strict=True):
            _wait_until_up(server, base, log)
        yield Stage(
            a,
            b,
            staff,
            revoked.voucher_id,
            world.people[1].resident_id,
            held.voucher_id,
            held.credential,
            worker,
        )
    shared.flushdb()
    shared.close()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_session_from_one_process_works_on_the_other(stage: Stage) -> None:
    signed_in = httpx2.post(
        f"{stage.a}/api/v1/auth/sign-in", json={"username": stage.staff, "password": PASSWORD}
    )
    assert signed_in.status_code == 200, signed_in.text
    staff = _bearer(signed_in.json()["token"])

    me = httpx2.get(f"{stage.b}/api/v1/auth/me", headers=staff)
    assert me.status_code == 200
    assert me.json()["role"] == "city_admin"

    # A change through B, with an idempotency key; A reads it, and replays B's answer to a retry.
    revoke = f"/api/v1/vouchers/{stage.revoked_voucher}/revoke"
    once = {**staff, "Idempotency-Key": f"revoke-{uuid.uuid4()}"}
    first = httpx2.post(stage.b + revoke, json={"reason": "duplicate"}, headers=once)
    assert first.status_code == 200, first.text
    shown = httpx2.get(f"{stage.a}/api/v1/vouchers/{stage.revoked_voucher}", headers=staff)
    assert shown.json()["status"] == "revoked"
    retry = httpx2.post(stage.a + revoke, json={"reason": "duplicate"}, headers=once)
    assert (retry.status_code, retry.headers.get("Idempotent-Replayed")) == (200, "true")
    assert retry.json() == first.json()

    # Signing out on A ends the session on B as well.
    assert httpx2.post(f"{stage.a}/api/v1/auth/sign-out", headers=staff).status_code == 204
    assert httpx2.get(f"{stage.b}/api/v1/auth/me", headers=staff).status_code == 401


def test_a_rate_limit_counts_the_hits_of_both_processes(stage: Stage) -> None:
    limit = CONSENT_GRANTS_PER_VOUCHER
    # Fixed windows: not at the very end of one, so that every hit falls in the same.
    into_window = time.time() % limit.window_seconds
    if into_window > limit.window_seconds - 5:
        time.sleep(limit.window_seconds - into_window + 0.5)
    grant = f"/api/v1/vouchers/{stage.worker_voucher}/consent"
    answers = [
        httpx2.post(base + grant, headers=stage.worker).status_code
        for base in [stage.a, stage.b] * 4
    ]
    # Each process alone saw four grants, under the limit of five; together they saw eight.
    assert answers == [201] * limit.hits + [429] * (8 - limit.hits)


def test_a_worker_signs_in_across_both_processes(stage: Stage) -> None:
    """Started on B, consented on B, called back on A: the flow cookie (state, nonce, PKCE)
    is signed with the shared session secret, the one-time code lives in Redis."""
    browser = httpx2.Client(follow_redirects=False, timeout=10)
    with browser:
        started = browser.get(f"{stage.b}/api/v1/auth/essc/sign-in")
        assert started.status_code == 302, started.text
        authorize = urlsplit(started.headers["Location"])
        form = dict(parse_qsl(authorize.query))
        form.update(decision="allow", id_number=stage.worker_id_number)
        consented = browser.post(f"{stage.b}{authorize.path}", data=form)
        assert consented.status_code == 303, consented.text
        callback = consented.headers["Location"]
        assert callback.startswith(stage.a)
        session = browser.get(callback, headers={"Accept": "application/json"})
        assert session.status_code == 200, session.text
        worker = _bearer(session.json()["token"])
        # A's code cannot be spent twice, on A or on B.
        again = browser.get(callback, headers={"Accept": "application/json"})
        assert again.status_code == 401
    mine = httpx2.get(f"{stage.b}/api/v1/vouchers/mine", headers=worker)
    assert mine.status_code == 200, mine.text
    assert [v["voucher_id"] for v in mine.json()["items"]] == [str(stage.worker_voucher)]


def test_a_key_written_by_another_process_verifies_at_once(
    stage: Stage, postgres_database: PostgresDatabase, data_dir: Path
) -> None:
    verify = "/api/v1/vouchers/verify"
    # B loads the key folder as it is now…
    assert httpx2.post(stage.b + verify, json={"code": stage.worker_code}).status_code == 200
    # …then another process issues the first voucher of a new region, writing its first key.
    ctx = make_context(postgres_database.url, data_dir, Clock(datetime.now(UTC)))
    try:
        holder = person(region=OTHER_CITY)
        import_people(ctx, [holder])
        deposit(ctx, region=OTHER_CITY)
        scheme = make_scheme(ctx, code="DT-2026-IND", name="大同市培训券", region=OTHER_CITY)
        issued = issue(ctx, scheme.code, holder)
    finally:
        ctx.close()
    checked = httpx2.post(stage.b + verify, json={"code": issued.credential})
    assert checked.status_code == 200, checked.text
    assert (checked.json()["region_code"], checked.json()["status"]) == (OTHER_CITY, "issued")
