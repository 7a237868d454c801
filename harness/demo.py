"""``harness demo``: a few fault plans replayed against the bundled example client.

A first look at what the harness does, with nothing to write: each plan starts a fake
server, runs ``python -m harness.examples.client`` against it as a real subprocess,
and prints what happened on the wire and how many copies were delivered.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

from harness import faults
from harness.smtp.faults.base import Fault
from harness.smtp.server import FakeSMTPServer


@dataclass(frozen=True)
class DemoPlan:
    name: str
    about: str
    faults: tuple[Fault, ...]
    copies: int  # copies a correct client ends up delivering


PLANS = (
    DemoPlan("no-fault", "control: nothing goes wrong", (), 1),
    DemoPlan(
        "banner-421-throttle", "421 at the banner on attempts 1-2 (RFC 5321 §3.8)",
        (faults.Reply(at="banner", reply="421 4.7.0 Try again later", attempts="1-2"),), 1,
    ),
    DemoPlan(
        "greylist", "451 to RCPT until 0.15 s have passed (RFC 6647)",
        (faults.Greylist(seconds=0.15),), 1,
    ),
    DemoPlan(
        "reset-mid-data", "RST after 100 bytes of content on attempt 1 (RFC 5321 §3.8)",
        (faults.Reset(at="body", after_bytes=100, attempts=1),), 1,
    ),
    DemoPlan(
        "store-then-drop", "message stored, connection dropped before 250 (RFC 1047)",
        (faults.StoreThenDrop(attempts=1),), 2,
    ),
    DemoPlan(
        "rcpt-550", "550 5.1.1 to RCPT: permanent, must not retry (RFC 5321 §4.2.1)",
        (faults.Reply(at="rcpt", reply="550 5.1.1 No such user"),), 0,
    ),
)


def run_demo(seed: int | None = None) -> int:
    """Replay every plan; return 0 if the client behaved as expected in all of them."""
    failures = 0
    for plan in PLANS:
        with FakeSMTPServer(plan.faults, seed=seed) as server:
            proc = subprocess.run(
                [sys.executable, "-m", "harness.examples.client", "--host", server.host,
                 "--port", str(server.port), "--timeout", "5", "--max-attempts", "8"],
                capture_output=True, text=True, timeout=120, check=False,
            )
            timeline = server.timeline
        copies = len(timeline.messages)
        ok = copies == plan.copies
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {plan.name:<22} attempts={len(timeline.attempts)}"
              f" delivered={copies} (expected {plan.copies}) client exit={proc.returncode}"
              f"  {plan.about}")
    print(f"\n{len(PLANS) - failures} of {len(PLANS)} plans behaved as expected")
    return 1 if failures else 0
