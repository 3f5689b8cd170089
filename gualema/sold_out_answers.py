"""bookSlot refusals for a slot this process knows is sold out, answered before GraphQL execution
(decision 274).

At 08:00 thousands press 预约 on sessions whose seats went in the first seconds. A refusal from the
sold-out mark (models/booking/sold_out.py, decision 262) never reaches the database, but through
strawberry it still pays variable coercion, every extension hook, the permission class, the error
mapping and serialisation: about half the CPU of a booking. Here a request whose document is exactly
`bookSlot(input: $variable)` gets the data that a real execution of the same document produced for
such a refusal in this process (kept per document, operation name and language), after the same
authentication, the same rate-limit charge and the same refusal count. Anything else goes the
ordinary way, which is also where each answer is first learned: another shape of document, an
input that would not coerce or that the resolver would refuse for another reason, a caller who is
not a patient, a slot without a mark, and a key that booked the slot (its replay returns its booking).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from graphql import NonNullTypeNode, OperationType, VariableNode
from graphql.language import FieldNode, NamedTypeNode

from gualema.least_recently_used import LeastRecentlyUsed
from gualema.rate_limits.limiter import OperationFacts, actual_cost
from models.errors import DomainError
from resolvers.booking import checked_idempotency_key
from schema.booking import SlotUnavailableError
from schema.ids import parse_id

BOOK_SLOT = "bookSlot"
INPUT_TYPE = "BookSlotInput"
REFUSAL_TYPE = SlotUnavailableError.__name__  # as the answers metric names it (schema/errors.py)
REQUIRED = frozenset({"slotId", "patientId", "idempotencyKey"})
OPTIONAL = frozenset({"preConsultationId"})  # must be absent or null: attaching one reads the database


@dataclass(frozen=True)
class BookingAttempt:
    slot_id: int
    idempotency_key: str


@dataclass(frozen=True)
class Refusal:
    data: dict[str, Any]  # `data` as execution rendered it (a copy: never mutated)
    cost: int  # what the answer's fields cost (the rate limiter refunds the rest)


class SoldOutAnswers:
    def __init__(self, size: int = 256) -> None:
        self.refusals: LeastRecentlyUsed[tuple[str, str | None, str], Refusal] = LeastRecentlyUsed(size)
        # None for a document of another shape: remembered as well.
        self.input_variables: LeastRecentlyUsed[tuple[str, str | None], str | None] = LeastRecentlyUsed(size)

    def learn(self, facts: OperationFacts, language: str, data: dict[str, Any]) -> None:
        """After the resolver refused from the mark and execution answered without errors."""
        if self.input_variable(facts) is None:
            return
        key = (facts.query, facts.operation_name, language)
        self.refusals.put(key, Refusal(json.loads(json.dumps(data)), actual_cost(data)))

    def refusal(self, facts: OperationFacts, language: str) -> Refusal | None:
        return self.refusals.get((facts.query, facts.operation_name, language))

    def attempt(self, facts: OperationFacts, variables: object) -> BookingAttempt | None:
        """The slot and key of a request the resolver would take as given, or None."""
        variable = self.input_variable(facts)
        if variable is None or not isinstance(variables, dict) or variables.keys() != {variable}:
            return None
        given = variables[variable]
        if not isinstance(given, dict) or not REQUIRED <= given.keys() <= REQUIRED | OPTIONAL:
            return None
        if given.get("preConsultationId") is not None:
            return None
        slot, patient, key = given["slotId"], given["patientId"], given["idempotencyKey"]
        if not (_is_id(slot) and _is_id(patient) and isinstance(key, str)) or "\x00" in key:
            return None
        try:
            parse_id(str(patient), "patientId")
            return BookingAttempt(parse_id(str(slot), "slotId"), checked_idempotency_key(key))
        except DomainError:
            return None  # MalformedId, InvalidInput: the ordinary path answers them

    def input_variable(self, facts: OperationFacts) -> str | None:
        """`$v` when the operation is exactly `mutation($v: BookSlotInput!) { bookSlot(input: $v) {…} }`."""
        key = (facts.query, facts.operation_name)
        if key in self.input_variables:
            return self.input_variables.get(key)
        variable = _input_variable(facts)
        self.input_variables.put(key, variable)
        return variable


def _input_variable(facts: OperationFacts) -> str | None:
    operation = facts.operation
    if operation.operation is not OperationType.MUTATION or operation.directives:
        return None
    selections = operation.selection_set.selections
    definitions = operation.variable_definitions or ()
    if len(selections) != 1 or len(definitions) != 1:
        return None
    [field], [definition] = selections, definitions
    if not isinstance(field, FieldNode) or field.name.value != BOOK_SLOT or field.directives:
        return None
    declared = definition.type
    if (
        definition.default_value is not None
        or definition.directives
        or not isinstance(declared, NonNullTypeNode)
    ):
        return None
    if not isinstance(declared.type, NamedTypeNode) or declared.type.name.value != INPUT_TYPE:
        return None
    arguments = field.arguments or ()
    if len(arguments) != 1:
        return None
    [argument] = arguments
    if argument.name.value != "input" or not isinstance(argument.value, VariableNode):
        return None
    name = argument.value.name.value
    return name if name == definition.variable.name.value else None


def _is_id(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
