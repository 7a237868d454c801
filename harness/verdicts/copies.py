"""Which stored messages are copies of one message.

Two stored messages are copies when their Message-IDs match, or when their content is
the same once the headers that change from one attempt to the next are set aside: a
client that builds the message again for each attempt gives it a new Message-ID and
Date, its library a new MIME boundary, and relays add trace headers. Comparing bytes
alone would miss the re-sender; comparing Message-IDs alone would miss it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.timeline import PER_ATTEMPT_HEADERS, StoredMessage, content_digest

__all__ = ["PER_ATTEMPT_HEADERS", "Copies", "content_digest", "group_copies"]

@dataclass(frozen=True, slots=True)
class Copies:
    """The stored copies of one message: ``key`` names it in reports (its first
    Message-ID, else a content digest), ``attempts`` and ``message_ids`` follow the
    order of storing."""

    key: str
    attempts: tuple[int, ...]
    message_ids: tuple[str | None, ...]
    recipients: tuple[tuple[str, ...], ...] = ()
    """Each copy's envelope recipients, in the same order (empty: not known)."""

    @property
    def count(self) -> int:
        return len(self.attempts)

    @property
    def most_per_recipient(self) -> int:
        """The most copies any one recipient got. A message sent to some recipients in
        one transaction and to the rest in another (after ``452 4.5.3 Too many
        recipients``, RFC 5321 §4.5.3.1.10) is stored twice, yet each recipient got it
        once."""
        if len(self.recipients) != self.count:
            return self.count
        got: dict[str, int] = {}
        for envelope in self.recipients:
            for recipient in set(envelope) or {""}:
                got[recipient] = got.get(recipient, 0) + 1
        return max(got.values(), default=self.count)

    def take_last(self) -> tuple[Copies, Copies]:
        """(every copy but the last, the last) as groups of their own."""
        def part(s: slice) -> Copies:
            return Copies(self.key, self.attempts[s], self.message_ids[s], self.recipients[s])
        return part(slice(None, -1)), part(slice(-1, None))

    @property
    def new_ids(self) -> bool:
        """True when the copies carry different Message-IDs: the receiver cannot
        deduplicate them, although their content is the same."""
        return len(set(self.message_ids)) > 1


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
        for label in filter(None, (message.message_id, message.digest)):
            j = first_seen.setdefault(label, i)
            parent[root(i)] = root(j)
    # what a Copies needs of each message, not the message (a long run's are read one at
    # a time, a kept body with each); a message stored once needs no group
    joined = bytearray(len(messages))
    for i in range(len(messages)):
        if (r := root(i)) != i:
            joined[i] = joined[r] = 1
    found: list[Copies | list[StoredMessage]] = []
    groups: dict[int, list[StoredMessage]] = {}
    for i, message in enumerate(messages):
        if not joined[i]:
            found.append(_copies([message]))
        elif (r := root(i)) in groups:
            groups[r].append(message)
        else:
            groups[r] = [message]
            found.append(groups[r])
    return [group if isinstance(group, Copies) else _copies(group) for group in found]


def _copies(group: Sequence[StoredMessage]) -> Copies:
    return Copies(
        key=group[0].message_id or group[0].digest,
        attempts=tuple(m.attempt for m in group),
        message_ids=tuple(m.message_id for m in group),
        recipients=tuple(tuple(r.lower() for r in m.rcpt_tos) for m in group),
    )
