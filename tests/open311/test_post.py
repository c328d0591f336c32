"""POST requests: an Open311 client's request is filed as an ordinary report."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from reports_app.extensions import db
from reports_app.models import ApiKey, Case, CaseEvent, CasePhoto
from reports_app.open311.keys import issue_key
from tests.open311.conftest import INSIDE_WARD, jpeg, open311_error, request_form, xml_of


def _case(response) -> Case:
    db.session.rollback()
    return db.session.get(Case, int(response.get_json()[0]["service_request_id"]))


def _count(model) -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_generic_client_post_files_an_ordinary_report(refdata, post_request, api_key, schemas):
    """Form fields only: the answer follows the spec, the case is routed like an app report."""
    response = post_request(request_form(api_key))
    assert response.status_code == 200, response.data
    assert response.content_type == "application/json; charset=utf-8"
    body = response.get_json()
    schemas.check_swagger("RequestResponse", body)
    [item] = body
    assert set(item) == {"service_request_id", "service_notice", "account_id"}
    assert item["account_id"] is None
    case = _case(response)
    assert item["service_request_id"] == str(case.id)
    assert case.tracking_code in item["service_notice"]
    assert case.source == "open311"
    assert case.reporter_id is None
    assert case.state == "assigned"
    assert case.agency_id == refdata.department.id
    assert case.area_id == refdata.ward.id
    assert (case.lat, case.lon) == INSIDE_WARD
    assert case.description == "Ổ gà lớn trước số 12 Lê Duẩn"
    assert case.is_public is True
    [event] = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id))
    assert (event.action, event.party, event.actor_id) == ("submit", "open311_client", None)
    assert event.data["source"] == "open311"
    assert case.due_at is not None


def test_post_answers_in_xml_with_the_spec_elements(refdata, post_request, api_key):
    """requests.xml: <service_requests><request> with id, notice and an empty account_id."""
    root = xml_of(post_request(request_form(api_key), "xml"))
    assert root.tag == "service_requests"
    request = root.find("request")
    assert [child.tag for child in request] == ["service_request_id", "service_notice",
                                                "account_id"]
    assert request.findtext("service_request_id").isdigit()
    assert request.findtext("account_id") in (None, "")


def test_api_key_may_come_in_the_query_string(refdata, post_request, api_key):
    """Swagger puts api_key in the query; the spec's example in the body: both work."""
    response = post_request(request_form(None), query=f"api_key={api_key}")
    assert response.status_code == 200, response.data


def test_query_string_parameters_are_accepted_too(refdata, post_request, api_key):
    """Clients that put every parameter in the query string (as swagger.json does) work."""
    response = post_request({}, query=f"api_key={api_key}&service_code=roads&lat=12.62"
                                      f"&long=108.02&description=x")
    assert response.status_code == 200, response.data


@pytest.mark.parametrize(("fields", "status", "words"), [
    ({"api_key": None}, 403, "api_key"),
    ({"api_key": ""}, 403, "api_key"),
    ({"api_key": "not-a-key"}, 403, "api_key"),
    ({"service_code": None}, 400, "service_code"),
    ({"service_code": "  "}, 400, "service_code"),
    ({"service_code": "no-such-service"}, 404, "service_code"),
    ({"jurisdiction_id": "sfgov.org"}, 404, "jurisdiction_id"),
    ({"lat": None, "long": None}, 400, "lat"),
    ({"lat": None, "long": None, "address_string": "12 Lê Duẩn"}, 400, "address_string"),
    ({"lat": None, "long": None, "address_id": "A-1234"}, 400, "address_id"),
    ({"long": None}, 400, "long"),
    ({"lat": "abc"}, 400, "lat"),
    ({"lat": "NaN"}, 400, "lat"),
    ({"long": "Infinity"}, 400, "long"),
    ({"lat": "91"}, 400, "lat"),
    ({"lat": "21.0", "long": "105.8"}, 400, "service area"),
    ({"description": "x" * 4001}, 400, "description"),
    ({"description": "bad\x00text"}, 400, "description"),
    ({"email": "not-an-email"}, 400, "email"),
    ({"phone": "12"}, 400, "phone"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"media_url": "ftp://example.com/x.jpg"}, 400, "media_url"),
])
def test_refusals_use_the_spec_codes(refdata, post_request, api_key, fields, status, words):
    """403 for key problems, 404 for what is not found, 400 for the rest; nothing is filed."""
    data = request_form(api_key)
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    body = open311_error(post_request(data), status)
    assert any(words in e["description"] for e in body), body
    root = xml_of(post_request(data, "xml"))
    assert root.tag == "errors"
    assert {e.findtext("code") for e in root.findall("error")} == {str(status)}
    assert _count(Case) == 0


def test_inactive_service_is_not_found(refdata, post_request, api_key):
    """A deactivated category takes no new requests (404, as the spec says for unknown codes)."""
    refdata.roads.is_active = False
    db.session.commit()
    open311_error(post_request(request_form(api_key)), 404)


def test_empty_and_unknown_parameters_are_ignored(refdata, post_request, api_key):
    """An empty parameter is an absent one; unknown ones (and device_id) are ignored."""
    response = post_request(request_form(api_key, jurisdiction_id="", email="", first_name="",
                                         media_url="", device_id="tt222111", account_id="42",
                                         favourite_colour="green"))
    assert response.status_code == 200, response.data
    case = _case(response)
    assert case.reporter_email is None
    assert case.reporter_name is None
    assert "_media_url" not in case.attributes


def test_jurisdiction_of_our_province_is_accepted(refdata, post_request, api_key):
    """jurisdiction_id = the province's code."""
    assert post_request(request_form(api_key, jurisdiction_id="P1")).status_code == 200


def test_description_up_to_4000_characters_and_optional(refdata, post_request, api_key):
    """The spec allows 4,000 characters, with line breaks; it may also be left out."""
    long_text = ("Dòng một\n" + "x" * 4000)[:4000]
    response = post_request(request_form(api_key, description=long_text))
    assert response.status_code == 200, response.data
    assert _case(response).description == long_text.strip()
    response = post_request(request_form(api_key, description=None))
    assert response.status_code == 200, response.data
    assert _case(response).description == ""


def test_address_string_is_kept_as_the_address(refdata, post_request, api_key):
    """With coordinates, address_string is the report's address (on one line)."""
    response = post_request(request_form(api_key, address_string="12 Lê Duẩn\r\nPhường 1",
                                         address_id="ADDR-77"))
    case = _case(response)
    assert case.address == "12 Lê Duẩn, Phường 1"
    assert case.attributes["_address_id"] == "ADDR-77"


def test_without_address_string_the_area_names_the_place(refdata, post_request, api_key):
    """The app's geocoder fallback names the ward, as for app reports."""
    case = _case(post_request(request_form(api_key)))
    assert refdata.ward.name_vi in case.address


def test_contact_details_are_kept_privately(refdata, post_request, api_key):
    """email, names and phone are the reporter's contact (normalised) for operators."""
    response = post_request(request_form(api_key, email=" Lan@Example.COM ", first_name="Lan",
                                         last_name="Nguyễn", phone="0912 345 678"))
    case = _case(response)
    assert case.reporter_name == "Lan Nguyễn"
    assert case.reporter_email == "lan@example.com"
    assert case.reporter_phone == "+84912345678"


def test_media_url_is_kept_as_given_and_never_fetched(refdata, post_request, api_key,
                                                      monkeypatch):
    """The URL is stored under the reserved `_media_url` attribute and shown back unchanged."""
    import urllib.request

    def no_network(*_args, **_kwargs):
        raise AssertionError("the server must not fetch media_url")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    url = "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg"
    case = _case(post_request(request_form(api_key, media_url=url)))
    assert case.attributes == {"_media_url": url}
    assert _count(CasePhoto) == 0


def test_media_parts_go_through_the_photo_pipeline(refdata, client, post_request, api_key):
    """Multipart `media` files become the report's photos; media_url then shows the display
    derivative as an absolute URL that serves a JPEG."""
    response = post_request(request_form(api_key), files=[jpeg(), jpeg((10, 20, 30))])
    assert response.status_code == 200, response.data
    case = _case(response)
    photos = db.session.scalars(sa.select(CasePhoto).where(CasePhoto.case_id == case.id)).all()
    assert [p.kind for p in photos] == ["report", "report"]
    [view] = client.get(f"/open311/v2/requests/{case.id}.json").get_json()
    assert view["media_url"] == f"http://localhost/media/{photos[0].display_key}"
    served = client.get(view["media_url"].removeprefix("http://localhost"))
    assert served.status_code == 200
    assert served.content_type == "image/jpeg"


def test_media_photo_gps_places_a_request_without_coordinates(refdata, post_request, api_key):
    """As in the app, a photo's GPS position is used when lat/long are not sent."""
    data = request_form(api_key, lat=None, long=None)
    response = post_request(data, files=[jpeg(gps=(12.63, 108.03))])
    assert response.status_code == 200, response.data
    case = _case(response)
    assert case.location_source == "exif"
    assert case.lat == pytest.approx(12.63, abs=1e-4)


def test_media_without_gps_and_no_coordinates_is_refused(refdata, post_request, api_key,
                                                         media_root):
    """No position anywhere: 400, and the photo is not kept."""
    body = open311_error(post_request(request_form(api_key, lat=None, long=None),
                                      files=[jpeg()]), 400)
    assert any("lat" in e["description"] and "long" in e["description"] for e in body)
    assert _count(Case) == 0
    assert not [p for p in media_root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(("blob", "status"), [
    (b"%PDF-1.4 not a photo", 415),
    (b"\xff\xd8\xff\xe0 broken jpeg", 400),
])
def test_bad_media_is_refused_in_open311_format(refdata, post_request, api_key, media_root,
                                                blob, status):
    """Not an image: 415; a broken image: 400 (422 in the app); named as media[0]."""
    body = open311_error(post_request(request_form(api_key), files=[jpeg(), blob]), status)
    assert any("media[1]" in e["description"] for e in body), body
    assert _count(Case) == 0
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def test_too_many_media_parts_are_refused(app, refdata, post_request, api_key):
    """The app's photo count limit applies (400 here, as every other invalid input)."""
    files = [jpeg((i, i, i)) for i in range(app.config["MAX_PHOTOS"] + 1)]
    body = open311_error(post_request(request_form(api_key), files=files), 400)
    assert any("media" in e["description"] for e in body)


# ----------------------------------------------------------------------------- attributes


@pytest.mark.parametrize(("sent", "stored"), [
    ({"attribute[hazard_size]": "small"}, {"hazard_size": "small"}),
    ({"attribute[hazard_size][]": "large"}, {"hazard_size": "large"}),
    ({"attribute[hazard_size]": "small", "attribute[lanes][]": ["left", "right"]},
     {"hazard_size": "small", "lanes": ["left", "right"]}),
    ({"attribute[hazard_size]": "small", "attribute[lanes]": "right"},
     {"hazard_size": "small", "lanes": ["right"]}),
    ({"attribute[hazard_size]": "small", "attribute[lanes][]": ""}, {"hazard_size": "small"}),
    ({"attribute[hazard_size]": "small", "attribute[depth_cm]": "12.5"},
     {"hazard_size": "small", "depth_cm": 12.5}),
    ({"attribute[hazard_size]": "small", "attribute[seen_at]": "2026-05-01T08:30:00+07:00"},
     {"hazard_size": "small", "seen_at": "2026-05-01T08:30:00+07:00"}),
    ({"attribute[hazard_size]": "small", "attribute[pole]": " P-12 "},
     {"hazard_size": "small", "pole": "P-12"}),
])
def test_attributes_are_mapped_to_the_category_fields(road_fields, post_request, api_key, sent,
                                                      stored):
    """attribute[CODE] and attribute[CODE][] become the case's answers, cleaned as in the app."""
    response = post_request(request_form(api_key, **sent))
    assert response.status_code == 200, response.data
    assert _case(response).attributes == stored


@pytest.mark.parametrize(("sent", "words"), [
    ({}, "attribute[hazard_size]"),
    ({"attribute[hazard_size]": "huge"}, "attribute[hazard_size]"),
    ({"attribute[hazard_size]": ["small", "large"]}, "attribute[hazard_size]"),
    ({"attribute[hazard_size]": "small", "attribute[lanes][]": "middle"}, "attribute[lanes]"),
    ({"attribute[hazard_size]": "small", "attribute[depth_cm]": "deep"}, "attribute[depth_cm]"),
    ({"attribute[hazard_size]": "small", "attribute[depth_cm]": "nan"}, "attribute[depth_cm]"),
    ({"attribute[hazard_size]": "small", "attribute[seen_at]": "2026-05-01T08:30"},
     "attribute[seen_at]"),
    ({"attribute[hazard_size]": "small", "attribute[pole]": "x" * 201}, "attribute[pole]"),
    ({"attribute[hazard_size]": "small", "attribute[colour]": "red"}, "attribute[colour]"),
    ({"attribute[hazard_size]": "small", "attribute[]": "x"}, "attribute[]"),
    ({"attribute[hazard_size]": "small", "attribute[a][b]": "x"}, "attribute[a][b]"),
    ({"attribute[hazard_size]": "small", "attribute": "x"}, "attribute"),
])
def test_invalid_attributes_are_400_naming_the_attribute(road_fields, post_request, api_key,
                                                         sent, words):
    """Answers are validated like the app's; each problem names its attribute."""
    body = open311_error(post_request(request_form(api_key, **sent)), 400)
    assert any(words in e["description"] for e in body), body
    assert _count(Case) == 0


def test_every_attribute_problem_is_listed(road_fields, post_request, api_key):
    """Several bad answers give several errors in one answer."""
    body = open311_error(post_request(request_form(
        api_key, **{"attribute[depth_cm]": "deep", "attribute[colour]": "red"})), 400)
    text = " ".join(e["description"] for e in body)
    for code in ("hazard_size", "depth_cm", "colour"):
        assert f"attribute[{code}]" in text


# ----------------------------------------------------------------------------- keys and limits


def test_a_used_key_records_when(refdata, post_request, api_key):
    """last_used_at tells admins which clients are alive."""
    assert post_request(request_form(api_key)).status_code == 200
    key = db.session.scalar(sa.select(ApiKey))
    assert key.last_used_at is not None


def test_each_key_has_its_own_rate_limit(refdata, post_request):
    """A key's rate_limit_per_minute caps its POSTs (429 in Open311 format); others go on."""
    _slow, slow_plain = issue_key("Slow client", rate_limit_per_minute=2)
    _fast, fast_plain = issue_key("Fast client", rate_limit_per_minute=100)
    db.session.commit()
    for _ in range(2):
        assert post_request(request_form(slow_plain)).status_code == 200
    response = post_request(request_form(slow_plain))
    [error] = open311_error(response, 429)
    assert "2 per 1 minute" in error["description"]
    assert response.headers.get("Retry-After")
    root = xml_of(post_request(request_form(slow_plain), "xml"))
    assert root.findtext("error/code") == "429"
    assert post_request(request_form(fast_plain)).status_code == 200
    assert _count(Case) == 3


def test_posts_are_limited_per_address(app, refdata, post_request, monkeypatch):
    """OPEN311_ADDRESS_RATE_LIMIT counts every POST from an address, whatever the key."""
    monkeypatch.setitem(app.config, "OPEN311_ADDRESS_RATE_LIMIT", "3/minute")
    keys = [issue_key(f"Client {i}", rate_limit_per_minute=100)[1] for i in range(4)]
    db.session.commit()
    assert post_request(request_form("wrong-key")).status_code == 403
    for key in keys[:2]:
        assert post_request(request_form(key)).status_code == 200
    open311_error(post_request(request_form(keys[3])), 429)
    assert app.test_client().post(
        "/open311/v2/requests.json", data=request_form(keys[3]),
        environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 200


def test_reading_needs_no_key_and_is_not_post_limited(app, refdata, client, monkeypatch):
    """GET endpoints take no key and are not counted against the POST limits."""
    monkeypatch.setitem(app.config, "OPEN311_ADDRESS_RATE_LIMIT", "1/minute")
    for _ in range(3):
        assert client.get("/open311/v2/requests.json").status_code == 200
        assert client.get("/open311/v2/services.json").status_code == 200
