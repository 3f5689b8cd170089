"""Indoor navigation use cases: routing (`routing`, `map_graph`, `markers`), map editing
(`map_editing`) and map documents (`map_documents`)."""
