"""Indoor navigation: the map as clients read it, map editing, map documents and routes."""

from __future__ import annotations

from strawberry.tools import merge_types

from schema.navigation import map_documents, map_editing, routing

# Field order as clients have always seen it in schema.graphql.
Query = merge_types("Query", (map_editing.Query, map_documents.Query, routing.Query))
Mutation = merge_types("Mutation", (map_documents.Mutation, map_editing.Mutation))
