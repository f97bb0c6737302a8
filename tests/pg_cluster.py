"""A throwaway PostgreSQL primary and its streaming replica, each a cluster of its own on a free
loopback port, for the tests that need real replication (reads served by a hot standby).

The clusters are made with the server's own tools: ``initdb`` for the primary and
``pg_basebackup -R`` for the replica, which writes ``standby.signal`` and the
``primary_conninfo`` that makes it stream from the primary. PostgreSQL refuses to run as root,
so under root (as in CI) every tool runs as the ``postgres`` user through ``runuser``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

POSTGRES_BIN = Path(os.environ.get("SKILLVOUCHER_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
_TOOLS = ("initdb", "pg_ctl", "pg_basebackup")
_SERVER_USER = "postgres"
# Durability is not what these clusters are for: skipping fsync keeps start-up to seconds.
_SETTINGS = (
    "listen_addresses = '127.0.0.1'",
    "fsync = off",
    "full_page_writes = off",
    "shared_buffers = 32MB",
    "max_connections = 40",
    "wal_level = replica",
    "max_wal_senders = 4",
    "hot_standby = on",
)


class ClusterUnavailable(Exception):
    """This machine cannot make a cluster (no server binaries, or no user to run them as)."""


@dataclass(frozen=True)
class ReplicatedClusters:
    primary_port: int
    replica_port: int

    def url(self, port: int, database: str) -> str:
        return f"postgresql+psycopg://{_SERVER_USER}@127.0.0.1:{port}/{database}"

    def primary_url(self, database: str) -> str:
        return self.url(self.primary_port, database)

    def replica_url(self, database: str) -> str:
        return self.url(self.replica_port, database)


def unavailable_reason() -> str | None:
    """Why clusters cannot be made here, or None when they can."""
    missing = [tool for tool in _TOOLS if not (POSTGRES_BIN / tool).is_file()]
    if missing:
        return f"PostgreSQL server tools {', '.join(missing)} are not in {POSTGRES_BIN}"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(_SERVER_USER)
        except KeyError:
            return f"running as root and there is no {_SERVER_USER!r} user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(command: Sequence[str], timeout: float = 60) -> None:
    as_server = ["runuser", "-u", _SERVER_USER, "--"] if os.geteuid() == 0 else []
    done = subprocess.run(
        [*as_server, *command], capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{Path(command[0]).name} failed: {done.stderr.strip()[-2000:]}")


def _configure(data_dir: Path, port: int, socket_dir: Path) -> None:
    # Appended after pg_basebackup copied the primary's file: the last setting wins.
    lines = [*_SETTINGS, f"port = {port}", f"unix_socket_directories = '{socket_dir}'"]
    with (data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write("\n" + "\n".join(lines) + "\n")


def _start(data_dir: Path, log: Path) -> None:
    _run([str(POSTGRES_BIN / "pg_ctl"), "-D", str(data_dir), "-l", str(log), "-w", "start"])


def _stop(data_dir: Path) -> None:
    if (data_dir / "postmaster.pid").exists():
        with suppress(RuntimeError, subprocess.TimeoutExpired):
            _run([str(POSTGRES_BIN / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "stop"])


@contextmanager
def replicated_clusters() -> Iterator[ReplicatedClusters]:
    """A running primary and a hot-standby replica streaming from it, removed afterwards.

    Raises ClusterUnavailable when this machine cannot make them (see ``unavailable_reason``).
    """
    reason = unavailable_reason()
    if reason is not None:
        raise ClusterUnavailable(reason)
    # Not pytest's tmp_path: that lives under a root-only directory the server user cannot enter.
    root = Path(tempfile.mkdtemp(prefix="skillvoucher-replication-"))
    primary, replica = root / "primary", root / "replica"
    if os.geteuid() == 0:
        shutil.chown(root, _SERVER_USER, _SERVER_USER)
    try:
        primary_port, replica_port = _free_port(), _free_port()
        _run(
            [
                str(POSTGRES_BIN / "initdb"),
                "-D",
                str(primary),
                "-U",
                _SERVER_USER,
                "--auth=trust",  # loopback only, and gone at the end of the test
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]
        )
        _configure(primary, primary_port, root)
        _start(primary, root / "primary.log")
        _run(
            [
                str(POSTGRES_BIN / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary_port),
                "-U",
                _SERVER_USER,
                "-D",
                str(replica),
                "-R",  # standby.signal and primary_conninfo: stream from the primary
                "-X",
                "stream",
                "--checkpoint=fast",
                "--no-sync",
            ]
        )
        _configure(replica, replica_port, root)
        _start(replica, root / "replica.log")
        yield ReplicatedClusters(primary_port, replica_port)
    finally:
        _stop(replica)
        _stop(primary)
        shutil.rmtree(root, ignore_errors=True)


def wait_for_replay(primary: sa.Engine, replica: sa.Engine, timeout: float = 30) -> None:
    """Return once the replica has replayed everything the primary had written when called."""
    with primary.connect() as connection:
        target = connection.scalar(sa.text("SELECT pg_current_wal_lsn()"))
    deadline = time.monotonic() + timeout
    with replica.connect() as connection:
        while True:
            behind = connection.scalar(
                sa.text(
                    "SELECT pg_wal_lsn_diff(CAST(:target AS pg_lsn), pg_last_wal_replay_lsn())"
                ),
                {"target": target},
            )
            if behind is not None and behind <= 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica is still {behind} bytes behind the primary")
            time.sleep(0.05)
            connection.rollback()  # a fresh snapshot for the next look
