"""The booking aggregate.

- `status`: statuses and the one transition table (pure)
- `tables`: the booking, its history and the daily quota
- `rules`: the booking window, cutoffs and the expected failures (pure)
- `transition`: the one status writer and the change record it returns
- `placement`: the one way a booking is made (app, waitlist, desk, reschedule)
- `notices`: what the patient is told
- `desk`: walk-ins registered at the desk (现场挂号)
- `reschedule`: 改约
- `actions`: cancellation, lapsed holds, 停诊, the no-show sweep

The tables and statuses are re-exported here for the many readers that only need those.
"""

from models.booking.status import ACTIVE, FHIR_STATUS, BookingStatus
from models.booking.tables import Booking, BookingEvent, BookingQuota, DeskPayment

__all__ = ["ACTIVE", "FHIR_STATUS", "Booking", "BookingEvent", "BookingQuota", "BookingStatus", "DeskPayment"]
