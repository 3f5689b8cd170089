"""Channels, publishing, subscribing and resynchronisation. Knows nothing of GraphQL types."""
