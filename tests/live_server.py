"""A real uvicorn server over a test's database, on a free loopback port, in a thread: for the
tests and benchmarks that need real concurrent HTTP (the enrolment race, the load scenario)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from skillvoucher.api.app import create_app
from skillvoucher.application.context import AppContext
from skillvoucher.config import Settings
from skillvoucher.credentials.keys import KeyStore
from skillvoucher.persistence.database import create_engine_for, session_factory


@contextmanager
def served(ctx: AppContext, pool_size: int, settings: Settings | None = None) -> Iterator[str]:
    """A real HTTP server over ``ctx``'s database on a free loopback port; yields its URL.

    Its engine has a connection for every concurrent request plus the sign-in lookups, so the
    run measures the database, not waits for the pool. ``settings`` replaces ``ctx``'s (to switch
    rate limits off, say).
    """
    engine = create_engine_for(
        ctx.settings.resolved_database_url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=60,
    )
    server_ctx = AppContext(
        engine=engine,
        sessions=session_factory(engine),
        keys=KeyStore(ctx.settings.resolved_key_dir),
        settings=settings or ctx.settings,
        clock=ctx.clock,
    )
    # IPPROTO_TCP named, not left 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
    # protocol says TCP, and an answer's head and body are two writes, so the body would wait
    # out the client's delayed ACK: 40 ms added to every answer.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(server_ctx), log_level="warning", access_log=False)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="uvicorn", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server stopped while starting")
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 20 seconds")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()
        server_ctx.close()
