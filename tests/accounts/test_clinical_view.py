"""What a doctor or administrator sees of a patient: sex and age from the ID number and the person's
completed visits at this hospital (under any account); each read is audited; patients cannot ask."""

from __future__ import annotations

from datetime import datetime

from gualema.settings import get_settings
from models.audit import AuditEntry
from models.booking import Booking, BookingStatus
from models.identity import age_on, birth_date, sex_of
from tests import factories
from tests.fixtures.api import GraphQLClient

CLINICAL = """
query($id: ID!) {
  booking(id: $id) {
    ... on Booking { patient { clinical { sex age pastVisits { bookingId } } } }
  }
}"""


async def test_staff_see_sex_age_and_past_visits_and_the_read_is_audited(gql: GraphQLClient) -> None:
    admin = await factories.admin_user()
    number = factories.resident_id("19550315")
    holder = await factories.patient_user()
    person = await factories.patient(holder, id_number=number)
    clinic = await factories.clinic_today()
    earlier = await factories.confirmed_booking(clinic, holder, id_number=None)
    await Booking.filter(id=earlier.id).update(patient_id=person.id, status=BookingStatus.COMPLETED)
    today_booking = await factories.confirmed_booking(clinic, holder)
    await Booking.filter(id=today_booking.id).update(patient_id=person.id)

    data = await gql.as_(admin.token).data(CLINICAL, {"id": str(today_booking.id)})
    refused = await gql.as_(holder.token)(CLINICAL, {"id": str(today_booking.id)})

    clinical = data["booking"]["patient"]["clinical"]
    today = datetime.now(get_settings().tz).date()
    born = birth_date(number)
    assert born is not None
    assert clinical == {
        "sex": sex_of(number),
        "age": age_on(born, today),
        "pastVisits": [{"bookingId": str(earlier.id)}],
    }
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await AuditEntry.filter(action="patient.clinical_view", actor_id=admin.id).count() == 1
