"""Status and state columns are written by one writer per aggregate, and only models/reactions.py
calls the writers (so every change gets its effects).

The AST walk finds every ORM `.update(...)` that names `status`/`state` (or passes a dict by `**`) and
names every function that does so. The places outside the writers are listed in KNOWN_ELSEWHERE, each
with its reason: the list may only shrink; a new one fails.
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
    ("models/booking/transition.py", "write_status"),
    ("models/payments/writers.py", "transition_order"),
    ("models/payments/writers.py", "settle_refund"),
    # The sandbox provider's own ledger: a small aggregate of its own (docs/decisions/131).
    ("integrations/payments/sandbox/ledger.py", "move_trade"),
    ("models/waitlist/entries.py", "write_status"),
    ("models/queueing.py", "write_state"),
    ("models/scheduling.py", "write_status"),
    ("models/partners.py", "change_manifest_status"),  # partner manifests (issue 17)
    ("models/pre_consultation.py", "move"),  # AI pre-consultations (issue 14)
    ("models/schedule_stop_requests.py", "write_status"),  # doctors' 停诊 requests (issue 16)
}

# The writers that models/reactions.py wraps with their effects: nobody else may call them.
WRAPPED_BY_REACTIONS = {
    ("models/booking/transition.py", "write_status"),
    ("models/waitlist/entries.py", "write_status"),
    ("models/queueing.py", "write_state"),
    ("models/scheduling.py", "write_status"),
    ("models/schedule_stop_requests.py", "write_status"),
    ("models/payments/writers.py", "transition_order"),
    ("models/payments/writers.py", "settle_refund"),
}

KNOWN_ELSEWHERE = {
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


def _module_of(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def test_only_reactions_call_the_wrapped_writers() -> None:
    # A writer is reached only by `from <its module> import <name> [as alias]` (or through its module
    # object); every such import outside the writer's own module and models/reactions.py is a caller
    # that would change a status without its effects.
    wanted = {(_module_of(path), name) for path, name in WRAPPED_BY_REACTIONS}
    modules = {module for module, _ in wanted}
    names = {name for _, name in wanted}
    callers: list[str] = []
    for package in ("models", "resolvers", "schema", "gualema", "integrations", "realtime", "tests", "bench"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel in {"models/reactions.py", "tests/architecture/test_status_writers.py"}:
                continue
            own = _module_of(rel)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module in modules and node.module != own:
                    callers += [f"{rel}: {a.name}" for a in node.names if (node.module, a.name) in wanted]
                # `entries.write_status(...)` and the like, through a module object
                attr = node if isinstance(node, ast.Attribute) else None
                if attr is not None and isinstance(attr.value, ast.Name) and attr.attr in names:
                    callers.append(f"{rel}: {attr.value.id}.{attr.attr}")
    assert callers == [], f"status writers called outside models/reactions.py: {callers}"
