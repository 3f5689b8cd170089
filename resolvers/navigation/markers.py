"""Signed QR markers: what to print on a wall, and where a scanned one stands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from gualema.settings import Settings
from models.navigation import (
    MapPoint,
)
from models.navigation_markers import (
    InvalidMarker,
    SignedMarker,
    marker_id_problem,
    marker_url,
    sign_marker,
    verify_marker_code,
)

T = TypeVar("T")


def marker_base_url(settings: Settings) -> str:
    public = getattr(settings, "public_base_url", "http://127.0.0.1:8000")
    return settings.navigation_marker_url or f"{str(public).rstrip('/')}/navigation/m"


@dataclass(frozen=True)
class PrintableMarker:
    signed: SignedMarker
    url: str


@dataclass(frozen=True)
class MarkerPlace:
    marker_id: str
    point_name: str
    building: str
    floor: str


async def marker_place(settings: Settings, scanned: str) -> MarkerPlace | None:
    """Where a scanned navigation marker stands; None for a forged code or a marker not on the map."""
    try:
        marker_id = verify_marker_code(settings.secret_key.get_secret_value(), scanned)
    except InvalidMarker:
        return None
    point = await MapPoint.filter(marker_id=marker_id).select_related("floor__building").first()
    if point is None:
        return None
    return MarkerPlace(marker_id, point.name, point.floor.building.name, point.floor.name)


def printable_marker(settings: Settings, marker_id: str) -> PrintableMarker:
    signed = sign_marker(settings.secret_key.get_secret_value(), marker_id)
    return PrintableMarker(signed, marker_url(marker_base_url(settings), signed))


async def printable_marker_on_map(settings: Settings, marker_id: str) -> PrintableMarker:
    if marker_id_problem(marker_id) or not await MapPoint.exists(marker_id=marker_id):
        raise InvalidMarker("no point of the map carries this marker")
    return printable_marker(settings, marker_id)
