"""Channels, publishing, subscribing and resynchronisation. Knows nothing of GraphQL types.

broker        publish/subscribe API (`get_broker()`), fan-out with bounded per-subscriber buffers
redis_backend broadcaster backend on redis.asyncio that reconnects, resubscribes and signals resync
mailbox       the bounded buffer (drop-and-resync on overflow)
messages      the resync message every consumer must handle
sequence      per-channel sequence numbers as a subscriber checks them
single_flight concurrent identical loads (snapshots after a resync) share one query
ordered       snapshot first, then each change once and in order (reorder wait, repair by snapshot)
"""
