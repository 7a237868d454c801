"""Many clients at once: every connection is served and every one is in the timeline."""

from __future__ import annotations

import asyncio

from harness import FakeSMTPServer
from tests.e2e.conftest import settled

CLIENTS = 500


async def converse(host: str, port: int, n: int) -> list[bytes]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        replies = [await reader.readline()]
        writer.write(f"EHLO client{n}.test\r\nQUIT\r\n".encode())  # pipelined on purpose
        while not (line := await reader.readline()).startswith(b"221"):
            if not line:
                break
            replies.append(line)
        replies.append(line)
        return replies
    finally:
        writer.close()
        await writer.wait_closed()


async def many(host: str, port: int) -> list[list[bytes]]:
    return await asyncio.gather(*(converse(host, port, n) for n in range(CLIENTS)))


def test_500_simultaneous_connections_are_all_recorded() -> None:
    with FakeSMTPServer() as server:
        conversations = asyncio.run(many(server.host, server.port))
        timeline = settled(server, attempts=CLIENTS, timeout=60)
    assert all(c[0].startswith(b"220") and c[-1].startswith(b"221") for c in conversations)
    assert sorted(a.index for a in timeline.attempts) == list(range(1, CLIENTS + 1))
    assert {a.closed_by for a in timeline.attempts} == {"client-quit"}
    helos = sorted(a.commands[0] for a in timeline.attempts)
    assert helos == sorted(f"EHLO client{n}.test" for n in range(CLIENTS))
