"""A bounded HTTP load: a list of requests sent by C concurrent clients, each answer timed.

The clients run in a child process of their own (spawned): the server under test
(tests/live_server.py ``served``) runs in the benchmark's process, and clients sharing its
interpreter lock would slow it down and be slowed by it. Each client is a keep-alive HTTP/1.1
connection sending its share of the requests one after another; all of them are coroutines on
one event loop speaking just enough HTTP/1.1 for the API's answers, as a load generator like wrk
does. The two cores are shared with the server and PostgreSQL, so the load generator's own CPU
is taken from them: threads each with an httpx client cost 1.3 to 2.3 ms of CPU a request,
a third of what the server spends on the baseline read; this costs a fraction of that.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from benchmarks.timing import percentile

TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    token: str
    body: dict[str, str] | None = None


@dataclass(frozen=True)
class Answer:
    status: int  # 0: no answer (connection dropped, timeout)
    code: str | None  # the problem's code for a 4xx/5xx problem+json answer
    seconds: float


@dataclass(frozen=True)
class HttpRun:
    answers: list[Answer]
    seconds: float  # wall time from the first request sent to the last answer

    @property
    def rate(self) -> float:
        return len(self.answers) / self.seconds if self.seconds else 0.0

    def latency(self, share: float, statuses: set[int] | None = None) -> float:
        times = [a.seconds for a in self.answers if statuses is None or a.status in statuses]
        return percentile(times, share) if times else 0.0

    def outcomes(self) -> Counter[tuple[int, str | None]]:
        return Counter((a.status, a.code) for a in self.answers)


def _request_bytes(host: str, call: Call) -> bytes:
    body = b"" if call.body is None else json.dumps(call.body).encode()
    head = [
        f"{call.method} {call.path} HTTP/1.1",
        f"Host: {host}",
        f"Authorization: Bearer {call.token}",
        "Accept: application/json",
        f"Content-Length: {len(body)}",
    ]
    if call.body is not None:
        head.append("Content-Type: application/json")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 answer: its status and body (by Content-Length, or chunked)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    }
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readuntil(b"\r\n")  # the empty trailer
        return status, b"".join(chunks)
    return status, b""


def _problem_code(status: int, body: bytes) -> str | None:
    if status < 400:
        return None
    try:
        found = json.loads(body).get("code")
    except (ValueError, AttributeError):
        found = None
    return found if isinstance(found, str) else "not a problem"


async def _client(
    url: str, calls: Sequence[Call], connected: Callable[[], Awaitable[None]]
) -> list[Answer]:
    """One keep-alive connection sending ``calls`` one after another; a dropped connection is
    opened again for the next call."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None
    connection = await asyncio.open_connection(host, port)
    await connected()
    answers = []
    for call in calls:
        started = time.perf_counter()
        try:
            if connection is None:
                connection = await asyncio.open_connection(host, port)
            reader, writer = connection
            writer.write(_request_bytes(f"{host}:{port}", call))
            status, body = await asyncio.wait_for(_read_answer(reader), TIMEOUT_SECONDS)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            if connection is not None:
                connection[1].close()
            connection = None
            answers.append(Answer(0, "no answer", time.perf_counter() - started))
            continue
        answers.append(Answer(status, _problem_code(status, body), time.perf_counter() - started))
    if connection is not None:
        connection[1].close()
    return answers


async def _fire(url: str, calls: Sequence[Call], clients: int) -> HttpRun:
    everyone_connected = asyncio.Barrier(clients + 1)

    async def connected() -> None:
        await everyone_connected.wait()

    tasks = [
        asyncio.create_task(_client(url, calls[index::clients], connected))
        for index in range(clients)
    ]
    await everyone_connected.wait()
    started = time.perf_counter()
    shares = await asyncio.gather(*tasks)
    return HttpRun([a for share in shares for a in share], time.perf_counter() - started)


def fire(url: str, calls: Sequence[Call], clients: int) -> HttpRun:
    """Send ``calls`` from ``clients`` connections (client i takes calls i, i + C, …) at once;
    the clock starts when all are connected."""
    return asyncio.run(_fire(url, calls, clients))


def fire_apart(url: str, calls: Sequence[Call], clients: int) -> HttpRun:
    """``fire`` in a spawned child process, away from the server's interpreter lock."""
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(1) as pool:
        return pool.apply(fire, (url, list(calls), clients))
