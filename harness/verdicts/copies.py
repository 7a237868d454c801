"""Which stored messages are copies of one message.

Two stored messages are copies when their Message-IDs match, or when their content is
the same once the headers that change from one attempt to the next are set aside: a
client that builds the message again for each attempt gives it a new Message-ID and
Date, its library a new MIME boundary, and relays add trace headers. Comparing bytes
alone would miss the re-sender; comparing Message-IDs alone would miss it too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from harness.timeline import StoredMessage

#: Headers a client or a relay sets per attempt (RFC 5322 §3.6.4, §3.6.1, §3.6.7;
#: RFC 6376 signs over Date and Message-ID, so its signature changes with them).
PER_ATTEMPT_HEADERS = frozenset({
    "message-id", "date", "received", "return-path", "x-received", "dkim-signature",
    "arc-seal", "arc-message-signature", "arc-authentication-results",
    "authentication-results", "x-mailer-sent-at",
})
_BOUNDARY = re.compile(rb'boundary="?([^";\r\n]+)"?', re.IGNORECASE)


@dataclass(frozen=True)
class Copies:
    """The stored copies of one message: ``key`` names it in reports (its first
    Message-ID, else a content digest), ``attempts`` and ``message_ids`` follow the
    order of storing."""

    key: str
    attempts: tuple[int, ...]
    message_ids: tuple[str | None, ...]

    @property
    def count(self) -> int:
        return len(self.attempts)

    @property
    def new_ids(self) -> bool:
        """True when the copies carry different Message-IDs: the receiver cannot
        deduplicate them, although their content is the same."""
        return len(set(self.message_ids)) > 1


def content_digest(raw: bytes) -> str:
    """A digest of ``raw`` without its per-attempt headers, with header lines unfolded
    and every MIME boundary replaced by a placeholder."""
    head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    kept: list[bytes] = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and kept:
            kept[-1] += b" " + line.strip()
        else:
            kept.append(line)
    fields = [f for f in kept if f.partition(b":")[0].strip().lower().decode("latin-1")
              not in PER_ATTEMPT_HEADERS]
    text = b"\n".join(fields) + b"\n\n" + body
    for number, boundary in enumerate(dict.fromkeys(_BOUNDARY.findall(text))):
        text = text.replace(boundary, b"boundary-%d" % number)
    return "sha256:" + hashlib.sha256(text).hexdigest()[:16]


def group_copies(messages: Sequence[StoredMessage]) -> list[Copies]:
    """The stored messages grouped into copies of one message each, in storing order."""
    parent = list(range(len(messages)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_seen: dict[str, int] = {}
    for i, message in enumerate(messages):
        for label in filter(None, (message.message_id, content_digest(message.raw))):
            j = first_seen.setdefault(label, i)
            parent[root(i)] = root(j)
    groups: dict[int, list[StoredMessage]] = {}
    for i, message in enumerate(messages):
        groups.setdefault(root(i), []).append(message)
    return [
        Copies(
            key=group[0].message_id or content_digest(group[0].raw),
            attempts=tuple(m.attempt for m in group),
            message_ids=tuple(m.message_id for m in group),
        )
        for group in groups.values()
    ]
