"""Patients 65 or older (by the birth date in their resident ID; the age is a setting) are given
priority at check-in without anyone asking."""

from __future__ import annotations

from datetime import date

import pytest

from gualema.settings import Settings
from models.clock import utcnow
from models.identity import age_on, birth_date
from models.queueing import PriorityReason, QueueTicket
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.queueing.conftest import CALL_NEXT, Clinic, arrive


async def test_an_elderly_patient_is_prioritised_at_check_in_and_a_younger_one_is_not(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    elderly = await arrive(gql, clinic, number=5, id_number=factories.resident_id("19450101"))
    younger = await arrive(gql, clinic, number=1, id_number=factories.resident_id("19900307"))

    old_ticket = await QueueTicket.get(id=int(elderly.ticket_id))
    young_ticket = await QueueTicket.get(id=int(younger.ticket_id))
    assert (old_ticket.priority, old_ticket.priority_reason) == (True, PriorityReason.ELDERLY)
    assert old_ticket.priority_note.endswith("岁 (automatic)")
    assert young_ticket.priority is False


def test_age_is_read_from_the_birth_date_in_the_id_number() -> None:
    born = birth_date(factories.resident_id("19610704"))
    assert born == date(1961, 7, 4)
    assert age_on(born, date(2026, 7, 3)) == 64
    assert age_on(born, date(2026, 7, 4)) == 65
    assert birth_date("110105196107041234") is None  # a wrong check digit is no birth date


async def test_the_elderly_patient_is_called_first_though_booked_later(
    gql: GraphQLClient, clinic: Clinic
) -> None:
    younger = await arrive(gql, clinic, number=1, id_number=factories.resident_id("19900307"))
    elderly = await arrive(gql, clinic, number=9, id_number=factories.resident_id("19400101"))

    called = await gql.as_(clinic.doctor_login.token).data(CALL_NEXT, {"roomId": str(clinic.room_id)})

    assert called["callNext"]["id"] == elderly.ticket_id
    assert called["callNext"]["id"] != younger.ticket_id


async def test_the_priority_age_is_a_setting(
    gql: GraphQLClient, clinic: Clinic, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "elderly_priority_age", 70)
    today = utcnow().date()
    sixty_six = factories.resident_id(f"{today.year - 66}0101")
    seventy_one = factories.resident_id(f"{today.year - 71}0101")

    below = await arrive(gql, clinic, number=1, id_number=sixty_six)
    above = await arrive(gql, clinic, number=2, id_number=seventy_one)

    assert (await QueueTicket.get(id=int(below.ticket_id))).priority is False
    assert (await QueueTicket.get(id=int(above.ticket_id))).priority is True
