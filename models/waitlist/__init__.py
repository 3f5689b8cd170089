"""The waitlist (候补).

- `entries`: the entry's table, statuses, transition table, status writer and lines
- `allocation`: a freed seat to the first matching waiter, through the booking placement
- `lifecycle`: deadlines, unpaid joining fees, prepaid admission
- `statistics`: how many waited and were served

The entry's table and statuses are re-exported here for the many readers that only need those.
"""

from models.waitlist.entries import ACTIVE, WaitlistEntry, WaitlistMode, WaitlistStatus

__all__ = ["ACTIVE", "WaitlistEntry", "WaitlistMode", "WaitlistStatus"]
