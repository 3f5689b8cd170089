"""Counts the SQL statements the application sends, to prove list fields load through DataLoaders.

Wraps the execute methods of the default connection's client class (and so of its transaction
wrappers); a statement counts once even when one execute method calls another.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from tortoise import connections

EXECUTE_METHODS = (
    "execute_query",
    "execute_query_dict",
    "execute_query_dict_with_affected",
    "execute_insert",
    "execute_many",
    "execute_script",
)

_inside = contextvars.ContextVar("inside_execute", default=False)


@contextmanager
def counting_queries() -> Iterator[list[str]]:
    statements: list[str] = []
    client_class = type(connections.get("default"))
    with pytest.MonkeyPatch.context() as patch:
        for name in EXECUTE_METHODS:
            original = getattr(client_class, name, None)
            if original is not None:
                patch.setattr(client_class, name, _counted(original, statements))
        yield statements


def _counted(method: Callable[..., Awaitable[Any]], statements: list[str]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def wrapper(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if _inside.get():
            return await method(self, query, *args, **kwargs)
        statements.append(query)
        token = _inside.set(True)
        try:
            return await method(self, query, *args, **kwargs)
        finally:
            _inside.reset(token)

    return wrapper
