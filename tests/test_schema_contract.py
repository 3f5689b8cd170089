"""The committed schema.graphql is the contract the mobile, TV and admin clients build against."""

from __future__ import annotations

import difflib

from schema.root import printed_schema
from tests.fixtures.api import REPOSITORY


def test_the_committed_schema_matches_the_code() -> None:
    committed = (REPOSITORY / "schema.graphql").read_text(encoding="utf-8")
    current = printed_schema()
    if committed != current:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                current.splitlines(keepends=True),
                "schema.graphql (committed)",
                "schema (code)",
                n=1,
            )
        )
        raise AssertionError(
            "schema.graphql is out of date: run `python -m gualema export-schema` and commit it "
            f"(check the diff is the change you meant for clients):\n{diff}"
        )
