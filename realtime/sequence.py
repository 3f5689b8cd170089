"""Per-channel sequence numbers, as one subscriber sees them.

Where the numbers live: in the database, on the row of the aggregate whose change is published
(e.g. a room's queue version), incremented by a conditional UPDATE in the same transaction as the
change and read back in it; the published message and every snapshot carry it as "seq". A Redis
INCR was rejected (docs/decisions/052-sequence-numbers.md): it is outside the transaction, so commit
order and number order can differ, and it resets when Redis loses its data. The realtime layer only
transports "seq"; this gate is the subscriber-side rule.

Use: subscribe first, read the snapshot (with its seq) second, then `admit` each message's seq:
  "deliver" — the next change: send it;
  "stale"   — already contained in the snapshot, or a duplicate: skip it;
  "gap"     — something was lost (or arrived out of order across processes): send a fresh
              snapshot and `reset` to its seq.
realtime.ordered.sequenced() wraps this gate with a short reorder wait, so that a message that merely
overtook another (two processes publishing) does not cost a snapshot; prefer it.
"""

from __future__ import annotations

from typing import Literal

Admission = Literal["deliver", "stale", "gap"]


class SequenceGate:
    def __init__(self, snapshot_seq: int) -> None:
        self.last_seq = snapshot_seq

    def admit(self, seq: int) -> Admission:
        if seq <= self.last_seq:
            return "stale"
        if seq != self.last_seq + 1:
            return "gap"
        self.last_seq = seq
        return "deliver"

    def reset(self, snapshot_seq: int) -> None:
        self.last_seq = snapshot_seq
