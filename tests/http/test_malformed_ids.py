"""Every ID a client can send, in any root field, answers a malformed value with a typed refusal.

The schema is read by introspection; every root Query and Mutation field that takes an ID (as an
argument, inside an input object, or in a list) is called once per malformed value, as the first of
admin / doctor / patient / anonymous that its permissions let through. A malformed id must come
back as a typed union member (InvalidInputError, or NotFoundError where the union has no
InvalidInputError) when the field returns a union, otherwise as a GraphQL error with
`extensions.code` BAD_USER_INPUT; an unknown well-formed id must never be a server fault.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    build_client_schema,
    get_introspection_query,
    get_named_type,
    is_leaf_type,
)

from schema import permissions
from tests import factories
from tests.fixtures.api import GraphQLClient

BEYOND_INTEGER = "2147483648"
# Ids of tables keyed on 64-bit integers: BEYOND_INTEGER is a well-formed id there.
BIGINT_SLOTS = {("markNotificationsRead", ("ids",))}
MALFORMED = [
    "abc",
    "",
    " 1",
    "1 ",
    "\t1",
    "1\n",
    "１",  # fullwidth digit one
    "١",  # Arabic-Indic digit one
    "+1",
    "-1",
    "0",
    "1.5",
    "1e3",
    "0x10",
    "1\u0000",
    BEYOND_INTEGER,  # one past PostgreSQL's integer
    "99999999999999999999",
]
UNKNOWN = "2147483647"
FILLER_ID = "2147483646"  # well-formed, never a row: the other ids of a call touch nothing

PERMISSION_MESSAGES = {
    getattr(cls, "message")  # noqa: B009  # a class attribute of the permission classes
    for cls in vars(permissions).values()
    if isinstance(cls, type) and isinstance(getattr(cls, "message", None), str)
}

Path = tuple[str, ...]  # argument name, then input field names; lists are filled with the one value


@dataclass(frozen=True)
class IdSlot:
    operation: str  # "query" or "mutation"
    field: str
    path: Path


def _unwrap(kind: Any) -> Any:
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    return kind


def id_paths(kind: GraphQLInputType, prefix: Path, seen: frozenset[str] = frozenset()) -> Iterator[Path]:
    named = _unwrap(kind)
    if isinstance(named, GraphQLScalarType) and named.name == "ID":
        yield prefix
    elif isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        for name, field in named.fields.items():
            yield from id_paths(field.type, (*prefix, name), seen | {named.name})


def id_slots(schema: GraphQLSchema) -> list[IdSlot]:
    slots = []
    for operation, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for field_name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                slots += [IdSlot(operation, field_name, p) for p in id_paths(arg.type, (arg_name,))]
    return slots


def sample(kind: Any, target: Path, value: str) -> Any:
    """A value of `kind` that is valid except at `target` (relative to it), where `value` goes."""
    if isinstance(kind, GraphQLNonNull):
        return sample(kind.of_type, target, value)
    if isinstance(kind, GraphQLList):
        return [sample(kind.of_type, target, value)]
    if isinstance(kind, GraphQLEnumType):
        return next(iter(kind.values))
    if isinstance(kind, GraphQLInputObjectType):
        if kind.is_one_of:
            name = target[0] if target else next(iter(kind.fields))
            return {name: sample(kind.fields[name].type, target[1:], value)}
        result = {}
        for name, field in kind.fields.items():
            if target and target[0] == name:
                result[name] = sample(field.type, target[1:], value)
            elif isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined:
                result[name] = sample(field.type, (), value)
        return result
    assert isinstance(kind, GraphQLScalarType)
    if kind.name == "ID":
        return value if not target and value is not None else FILLER_ID
    return {
        "String": "x",
        "Int": 1,
        "Float": 1.0,
        "Boolean": False,
        "Date": "2026-12-03",
        "DateTime": "2026-12-03T09:00:00+08:00",
        "Time": "09:00:00",
        "JSON": {},
    }.get(kind.name, "x")


def sample_id(kind: Any, value: str) -> Any:
    """`value` itself where the slot is the ID (or a list of it)."""
    if isinstance(kind, GraphQLNonNull):
        return sample_id(kind.of_type, value)
    if isinstance(kind, GraphQLList):
        return [sample_id(kind.of_type, value)]
    return value


def call(schema: GraphQLSchema, slot: IdSlot, value: str) -> tuple[str, dict[str, Any]]:
    root = schema.query_type if slot.operation == "query" else schema.mutation_type
    assert root is not None
    field = root.fields[slot.field]
    declared, passed, variables = [], [], {}
    for arg_name, arg in field.args.items():
        on_target = slot.path[0] == arg_name
        if not on_target and not isinstance(arg.type, GraphQLNonNull):
            continue
        if on_target and len(slot.path) == 1:
            variables[arg_name] = sample_id(arg.type, value)
        else:
            variables[arg_name] = sample(arg.type, slot.path[1:] if on_target else (), value)
        declared.append(f"${arg_name}: {arg.type}")
        passed.append(f"{arg_name}: ${arg_name}")
    selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
    head = f"{slot.operation}({', '.join(declared)})" if declared else slot.operation
    arguments = f"({', '.join(passed)})" if passed else ""
    return f"{head} {{ {slot.field}{arguments}{selection} }}", variables


TYPED_REFUSALS = {"InvalidInputError", "NotFoundError"}


def refused_as_bad_input(body: dict[str, Any], field: str, returns_union: bool, value: str) -> bool:
    """A union answers with its member; any other field (and NUL, refused before execution) with
    BAD_USER_INPUT."""
    answer = (body.get("data") or {}).get(field)
    if returns_union and "\x00" not in value:
        return (
            isinstance(answer, dict) and answer.get("__typename") in TYPED_REFUSALS and "errors" not in body
        )
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
    return bool(codes) and all(code == "BAD_USER_INPUT" for code in codes)


def is_permission_refusal(body: dict[str, Any]) -> bool:
    return any(e.get("message") in PERMISSION_MESSAGES for e in body.get("errors", []))


def server_faults(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        e
        for e in body.get("errors", [])
        if e.get("extensions", {}).get("code") == "INTERNAL_SERVER_ERROR"
        or e.get("message") == "Unexpected error."
    ]


def returns_union(schema: GraphQLSchema, slot: IdSlot) -> bool:
    root = schema.query_type if slot.operation == "query" else schema.mutation_type
    assert root is not None
    return isinstance(get_named_type(root.fields[slot.field].type), GraphQLUnionType)


async def introspected(gql: GraphQLClient) -> GraphQLSchema:
    return build_client_schema(await gql.data(get_introspection_query()))  # type: ignore[arg-type]


async def test_every_id_argument_refuses_every_malformed_value_as_bad_input(gql: GraphQLClient) -> None:
    # Given one login of each kind
    admin = await factories.admin_user()
    _, doctor = await factories.doctor()
    patient = await factories.patient_user()
    await factories.patient(patient)
    callers = [gql.as_(admin.token), gql.as_(doctor.token), gql.as_(patient.token), gql.as_(None)]
    schema = await introspected(gql)
    slots = id_slots(schema)
    assert len(slots) > 50, "the walk found fewer ID slots than the schema has"

    wrong: list[str] = []
    for slot in slots:
        # When each field is called by the first caller its permissions let through
        query, variables = call(schema, slot, MALFORMED[0])
        caller = callers[-1]
        for candidate in callers:
            if not is_permission_refusal(await candidate(query, variables)):
                caller = candidate
                break
        well_formed = {UNKNOWN, BEYOND_INTEGER} if (slot.field, slot.path) in BIGINT_SLOTS else {UNKNOWN}
        for value in [*MALFORMED, UNKNOWN]:
            query, variables = call(schema, slot, value)
            response = await caller.post(query, variables)
            label = f"{slot.field}{'.'.join(('', *slot.path))} = {value!r}"
            if response.status_code >= 500:
                wrong.append(f"{label}: HTTP {response.status_code}")
                continue
            body = response.json()
            # Then nothing is a server fault, and every malformed id is refused as bad input
            if server_faults(body):
                wrong.append(f"{label}: {server_faults(body)}")
            elif value in well_formed:
                continue
            elif not refused_as_bad_input(body, slot.field, returns_union(schema, slot), value):
                wrong.append(f"{label}: {body}")
    assert wrong == [], "\n".join(wrong)


async def test_an_unknown_well_formed_id_is_not_found(gql: GraphQLClient) -> None:
    patient = await factories.patient_user()
    body = await gql.as_(patient.token)(f'{{ booking(id: "{UNKNOWN}") {{ __typename }} }}')
    assert body["data"] == {"booking": {"__typename": "NotFoundError"}}
