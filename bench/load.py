"""A small HTTP/1.1 load generator for loopback benchmarks (asyncio, raw sockets).

Bounded twice: it sends at most `max_requests` requests and stops after `max_seconds`, and it only
talks to 127.0.0.1. Each request is sent once (no retry: a lost answer is counted as an error);
a connection the server closes (gunicorn's sync workers close after every answer) is reopened.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

LOOPBACK = "127.0.0.1"


@dataclass
class LoadResult:
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def per_second(self) -> float:
        return self.answered / self.seconds if self.seconds else 0.0


def request_bytes(
    method: str, path: str, *, port: int, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {LOOPBACK}:{port}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close, chunked = None, False, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value == "close":
            close = True
        elif name == "transfer-encoding" and "chunked" in value:
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    else:
        await reader.read()
        close = True
    return status, close


async def _worker(
    port: int,
    next_request: Callable[[], bytes | None],
    result: LoadResult,
    deadline: float,
    timeout: float,
) -> None:
    reader = writer = None
    while time.monotonic() < deadline:
        payload = next_request()
        if payload is None:
            break
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(LOOPBACK, port), timeout
                )
            started = time.perf_counter()
            result.sent += 1
            writer.write(payload)
            await writer.drain()
            status, close = await asyncio.wait_for(_read_response(reader), timeout)
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] += 1
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            result.errors[type(exc).__name__] += 1
            close = True
        if close and writer is not None:
            writer.close()
            reader = writer = None
    if writer is not None:
        writer.close()


def run(
    port: int,
    requests: Callable[[], bytes | None],
    *,
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    timeout: float = 30.0,
) -> LoadResult:
    """Send requests from `requests()` (None: no more) with `concurrency` connections."""
    result = LoadResult()
    budget = [max_requests]

    def next_request() -> bytes | None:
        if budget[0] <= 0:
            return None
        budget[0] -= 1
        return requests()

    async def main() -> None:
        deadline = time.monotonic() + max_seconds
        await asyncio.gather(
            *(_worker(port, next_request, result, deadline, timeout) for _ in range(concurrency))
        )

    started = time.perf_counter()
    asyncio.run(main())
    result.seconds = time.perf_counter() - started
    return result
