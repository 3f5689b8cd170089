"""Signed QR markers: the code format, forgery, and the printable SVG/PNG images."""

from __future__ import annotations

import html
from urllib.parse import quote

import httpx
import pytest
import segno

from gualema.app import create_app
from gualema.display_page import HEADERS as DISPLAY_PAGE_HEADERS
from gualema.navigation_qr import qr_image
from gualema.settings import Settings, get_settings
from models.navigation_markers import InvalidMarker, parse_marker_code, sign_marker, verify_marker_code
from tests import factories
from tests.fixtures.api import GraphQLClient
from tests.navigation.maps import clinic_document

SECRET = "a-secret-for-markers"

FLOORS = "{ buildings { code floors { id name } } }"
POINTS = """query($floor: ID!) {
  mapPoints(floorId: $floor) { key markerId signedMarker { code url svgPath pngPath } } }"""


def test_a_signed_code_is_the_marker_id_and_sixteen_base32_characters() -> None:
    signed = sign_marker(SECRET, "MZ-2F-201")
    marker_id, signature = signed.code.split(".")
    assert marker_id == "MZ-2F-201"
    assert len(signature) == 16
    assert set(signature) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert verify_marker_code(SECRET, signed.code) == "MZ-2F-201"
    assert verify_marker_code(SECRET, signed.code.lower()) == "MZ-2F-201"  # scanners may lowercase
    assert verify_marker_code(SECRET, f"https://h.example/navigation/m/{signed.code}") == "MZ-2F-201"


def test_another_secret_or_an_altered_id_or_signature_is_rejected() -> None:
    signed = sign_marker(SECRET, "MZ-2F-201")
    for forged in (
        sign_marker("another-secret", "MZ-2F-201").code,
        f"MZ-2F-202.{signed.signature}",
        f"MZ-2F-201.{signed.signature[:-1]}{'A' if signed.signature[-1] != 'A' else 'B'}",
        f"MZ-2F-201.{signed.signature[:-1]}",
        "MZ-2F-201",
        "",
        "../../etc/passwd",
    ):
        with pytest.raises(InvalidMarker):
            verify_marker_code(SECRET, forged)
    with pytest.raises(InvalidMarker):
        parse_marker_code("bad id.AAAAAAAAAAAAAAAA")


@pytest.fixture
async def admin_with_map(gql: GraphQLClient) -> factories.Actor:
    admin = await factories.admin_user()
    data = await gql.as_(admin.token).data(
        "mutation($d: JSON!) { importMap(document: $d) { __typename } }", {"d": clinic_document()}
    )
    assert data["importMap"]["__typename"] == "MapImported"
    return admin


async def test_an_administrator_sees_the_signed_code_and_url_of_each_marker(
    gql: GraphQLClient, admin_with_map: factories.Actor
) -> None:
    floors = (await gql.data(FLOORS))["buildings"][0]["floors"]
    assert [f["name"] for f in floors] == ["1F", "2F"]
    data = await gql.as_(admin_with_map.token).data(POINTS, {"floor": floors[0]["id"]})
    entrance = data["mapPoints"][0]
    signed = sign_marker(get_settings().secret_key.get_secret_value(), "A-1F-ENTRANCE")
    assert entrance == {
        "key": "E",
        "markerId": "A-1F-ENTRANCE",
        "signedMarker": {
            "code": signed.code,
            "url": f"http://127.0.0.1:8000/navigation/m/{signed.code}",
            "svgPath": "/navigation/qr/A-1F-ENTRANCE.svg",
            "pngPath": "/navigation/qr/A-1F-ENTRANCE.png",
        },
    }
    patient = await factories.patient_user()
    refused = await gql.as_(patient.token)(POINTS, {"floor": floors[0]["id"]})
    assert refused["errors"][0]["message"] == "only an administrator may do this"


@pytest.mark.parametrize(("image_format", "media_type"), [("svg", "image/svg+xml"), ("png", "image/png")])
async def test_the_qr_image_encodes_the_signed_url(
    http: httpx.AsyncClient, admin_with_map: factories.Actor, image_format: str, media_type: str
) -> None:
    response = await http.get(
        f"/navigation/qr/A-1F-ENTRANCE.{image_format}",
        headers={"Authorization": f"Bearer {admin_with_map.token}"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    signed = sign_marker(get_settings().secret_key.get_secret_value(), "A-1F-ENTRANCE")
    url = f"http://127.0.0.1:8000/navigation/m/{signed.code}"
    # The same bytes segno renders for the signed URL, so the image carries exactly that URL.
    assert response.content == qr_image(url, image_format, scale=8)
    assert segno.make(url, error="m", micro=False).designator.endswith(("-M", "-Q", "-H"))
    if image_format == "png":
        assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert response.content.startswith(b"<svg")


async def test_qr_images_are_for_administrators_and_known_markers(
    http: httpx.AsyncClient, admin_with_map: factories.Actor
) -> None:
    patient = await factories.patient_user()
    assert (await http.get("/navigation/qr/A-1F-ENTRANCE.svg")).status_code == 401
    as_patient = await http.get(
        "/navigation/qr/A-1F-ENTRANCE.svg", headers={"Authorization": f"Bearer {patient.token}"}
    )
    assert as_patient.status_code == 403
    admin = {"Authorization": f"Bearer {admin_with_map.token}"}
    assert (await http.get("/navigation/qr/NOT-PLACED.svg", headers=admin)).status_code == 404
    assert (await http.get("/navigation/qr/A-1F-ENTRANCE.gif", headers=admin)).status_code == 404


@pytest.mark.usefixtures("admin_with_map")
async def test_a_scanned_marker_opens_a_page_saying_where_the_visitor_stands(http: httpx.AsyncClient) -> None:
    code = sign_marker(get_settings().secret_key.get_secret_value(), "A-1F-ENTRANCE").code

    page = await http.get(f"/navigation/m/{code}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "您在这里" in page.text
    assert code in page.text

    forged = await http.get(f"/navigation/m/{code[:-1]}{'A' if code[-1] != 'A' else 'B'}")
    assert forged.status_code == 404
    assert "二维码无效" in forged.text


@pytest.mark.usefixtures("admin_with_map")
async def test_the_landing_page_opens_the_mini_program_and_sends_the_display_pages_headers(
    settings: Settings,
) -> None:
    link = "weixin://dl/business/?appid=wx0123456789abcdef&path=pages/route/index&query=code%3D{code}"
    app = create_app(settings.model_copy(update={"miniprogram_link": link}), manage_database=False)
    code = sign_marker(get_settings().secret_key.get_secret_value(), "A-1F-ENTRANCE").code

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get(f"/navigation/m/{code}")
        forged = await client.get(f"/navigation/m/{code[:-1]}{'A' if code[-1] != 'A' else 'B'}")

    opened = link.replace("{code}", quote(code, safe=""))
    assert f"href='{html.escape(opened, quote=True)}'" in page.text
    assert "在小程序中打开" in page.text
    for response in (page, forged):
        for header, value in DISPLAY_PAGE_HEADERS.items():
            assert response.headers[header.lower()] == value


def test_only_a_weixin_scheme_or_an_https_link_is_accepted(settings: Settings) -> None:
    with pytest.raises(ValueError, match="mini-program link"):
        settings.model_validate({**settings.model_dump(), "miniprogram_link": "javascript:alert(1)"})
