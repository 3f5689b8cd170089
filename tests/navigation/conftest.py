from __future__ import annotations

import pytest

from resolvers.navigation.map_graph import forget_cached_graph


@pytest.fixture(autouse=True)
def fresh_graph_cache() -> None:
    # Tables are wiped between tests; the cache key's random stamp already makes a stale hit
    # impossible, and forgetting the cache keeps tests independent of their order anyway.
    forget_cached_graph()
