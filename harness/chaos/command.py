"""``harness toxiproxy``: the embedded proxies behind Toxiproxy's HTTP API, in the
foreground, for users who want a pip-installable Toxiproxy."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from harness.chaos.api import ToxiproxyAPI
from harness.chaos.errors import ChaosError
from harness.loop import ExhaustionLog


def serve_toxiproxy(*, host: str = "localhost", port: int = 8474, config: str | None = None,
                    seed: int | None = None) -> int:
    """Serve until interrupted. ``config`` is a JSON file in ``/populate``'s format."""
    try:
        body = Path(config).read_bytes() if config else None
    except OSError as error:
        raise ChaosError(f"--config {config}: {error.strerror or error}") from None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_until_stopped(host, port, body, seed))
    return 0


async def _serve_until_stopped(host: str, port: int, config: bytes | None,
                               seed: int | None) -> None:
    api = ToxiproxyAPI(host="127.0.0.1" if host == "localhost" else host, port=port, seed=seed)
    asyncio.get_running_loop().set_exception_handler(ExhaustionLog())
    await api.start_async()
    try:
        if config is not None:
            reply = await api.handle("POST", "/populate", config)
            if reply.status != 201:
                raise ChaosError(f"--config: {reply.body.decode().strip()}")
        print(f"Toxiproxy-compatible API on {api.url} (seed {api.seed})", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await api.stop_async()
        print("stopped", file=sys.stderr, flush=True)
