"""`skillvoucher serve` starts a real server on the embedded database (loopback only)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CLI = [sys.executable, "-c", "from skillvoucher.cli.main import main; main()"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_answers_health_and_openapi(tmp_path: Path) -> None:
    env = {**os.environ, "SKILLVOUCHER_DATA_DIR": str(tmp_path)}
    env.pop("SKILLVOUCHER_DATABASE_URL", None)
    subprocess.run([*CLI, "db", "upgrade"], env=env, check=True, capture_output=True)
    port = free_port()
    server = subprocess.Popen(
        [*CLI, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.load(r)
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not come up in 30 s"
                time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=5) as r:
            schema = json.load(r)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert health == {"status": "ok", "database": "sqlite"}
    assert schema["info"]["title"] == "skillvoucher"
