"""Status and state columns are written by one writer per aggregate.

The AST walk finds every ORM `.update(...)` that names `status`/`state` (or passes a dict by `**`) and
names every function that does so. Known places outside the writers are listed in KNOWN_ELSEWHERE, each an
open item of issue 12: the list may only shrink; a new one fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from models.errors import writable_updates

ROOT = Path(__file__).resolve().parents[2]
STATE_COLUMNS = {"status", "state"}

# (file, function): the one status-changing function of each aggregate.
WRITERS = {
    ("models/booking.py", "transition"),
    ("models/payments.py", "transition_order"),
    ("models/waitlist.py", "move"),
    ("models/queueing.py", "change_state"),
    ("models/pre_consultation.py", "move"),
}

# Written elsewhere today, to be folded into the writers (issue 12, point 2).
KNOWN_ELSEWHERE = {
    ("models/queueing.py", "call_next"),
    ("models/waitlist.py", "allocate_seat"),  # reverts a claimed entry to WAITING
    ("models/booking.py", "stop_schedule"),  # the schedule's OPEN -> STOPPED
    ("resolvers/payments.py", "apply_refund_result"),  # refund PROCESSING -> SUCCEEDED/FAILED
    # The sandbox provider's own ledger (its tables still live in models/payments.py).
    ("integrations/payments/sandbox.py", "close"),
    ("integrations/payments/sandbox.py", "settle"),
    # The SMS outbox claims and settles its rows with leases; not one of the six aggregates.
    ("models/notifications.py", "claim_due_sms"),
    ("models/notifications.py", "mark_attempt_failed"),
    ("models/notifications.py", "mark_sent"),
    # Re-encrypts ID numbers through `**values`; writes no status.
    ("models/personal_data.py", "rotate_keys"),
}


def _writes_state(call: ast.Call) -> bool:
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "update"):
        return False
    return any(kw.arg in STATE_COLUMNS or kw.arg is None for kw in call.keywords)


def _state_writes() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for package in ("models", "resolvers", "schema", "gualema", "integrations", "realtime"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            rel = path.relative_to(ROOT).as_posix()
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if isinstance(node, ast.Call) and _writes_state(node):
                        found.add((rel, function.name))
    return found


def _allowed(place: tuple[str, str]) -> bool:
    return place in WRITERS or place in KNOWN_ELSEWHERE


def test_no_new_place_writes_a_status_column() -> None:
    elsewhere = sorted(place for place in _state_writes() if not _allowed(place))
    assert elsewhere == [], f"status written outside its aggregate's writer: {elsewhere}"


def test_every_writer_still_writes() -> None:
    # A writer renamed or moved must be renamed here too, or the walk above would pass vacuously.
    assert _state_writes() >= WRITERS


@pytest.mark.parametrize("column", ["status", "state"])
def test_updates_can_never_carry_the_status(column: str) -> None:
    with pytest.raises(ValueError, match=column):
        writable_updates({column: "confirmed", "cancel_reason": "x"}, state_column=column)
    assert writable_updates({"cancel_reason": "x"}, state_column=column) == {"cancel_reason": "x"}
