"""Cost-based rate limits: token buckets per partner key and per account (docs/decisions/163, 164).

`buckets` keeps the state (Redis when configured, this process otherwise); `limiter` decides whom a
request is charged to, how much, and how the state is reported (extensions.cost, RateLimit headers).
"""
