"""Patients 65 or older (by the birth date in their resident ID; the age is a setting) are given
priority at check-in without anyone asking."""

from __future__ import annotations

from datetime import date

from models.identity import age_on, birth_date
from models.queueing import PriorityReason, QueueTicket
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.queueing.conftest import Clinic, arrive


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
