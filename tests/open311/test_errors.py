"""Errors under /open311/: the spec's format on every path and method, and no input at all
makes an Open311 endpoint answer 5xx or HTML."""

from __future__ import annotations

import io
import random
import string

import pytest
from werkzeug.datastructures import MultiDict

from tests.open311.conftest import INSIDE_WARD, jpeg, open311_error, request_form, xml_of

UNKNOWN_PATHS = [
    "/open311", "/open311/", "/open311/v2", "/open311/v2/", "/open311/v3/services.json",
    "/open311/v2/services", "/open311/v2/services.csv", "/open311/v2/services.json/",
    "/open311/v2/services/.json", "/open311/v2/requests/1", "/open311/v2/requests/1/2.json",
    "/open311/v2/nothing.json", "/open311/v2/tokens/.json", "/open311/%FF%FE.json",
    "/open311/v2/services.JSON", "/open311/discovery",
]

WRONG_METHODS = [
    ("POST", "/open311/v2/services.json", "GET, HEAD"),
    ("POST", "/open311/v2/services/roads.json", "GET, HEAD"),
    ("PUT", "/open311/v2/requests.json", "GET, HEAD, POST"),
    ("DELETE", "/open311/v2/requests.json", "GET, HEAD, POST"),
    ("PATCH", "/open311/discovery.json", "GET, HEAD"),
    ("POST", "/open311/v2/requests/1.json", "GET, HEAD"),
    ("DELETE", "/open311/v2/tokens/1.json", "GET, HEAD"),
    ("PROPFIND", "/open311/v2/requests.json", "GET, HEAD, POST"),
]


def _no_leak(response) -> None:
    """Neither an HTML page nor the /api/v1 error object."""
    assert response.status_code < 500, response.data
    assert response.content_type in ("application/json; charset=utf-8",
                                     "text/xml; charset=utf-8"), response.content_type
    assert b"<html" not in response.data.lower()
    assert b"<!doctype" not in response.data.lower()
    if response.status_code >= 400:
        if response.content_type.startswith("text/xml"):
            root = xml_of(response)
            assert root.tag == "errors"
            for error in root.findall("error"):
                assert error.findtext("code") == str(response.status_code)
                assert error.findtext("description")
        else:
            open311_error(response, response.status_code)


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_unknown_paths_are_404_in_open311_format(client, path):
    """Any unknown path under /open311/ is a 404 the Open311 way (JSON unless it says .xml)."""
    response = client.get(path)
    assert response.status_code == 404
    _no_leak(response)


def test_unknown_xml_path_answers_in_xml(client):
    """A path ending in .xml gets the XML error list."""
    response = client.get("/open311/v2/nothing.xml")
    root = xml_of(response)
    assert response.status_code == 404
    assert root.tag == "errors"
    assert root.findtext("error/code") == "404"


@pytest.mark.parametrize(("method", "path", "allowed"), WRONG_METHODS)
def test_wrong_methods_are_405_in_open311_format(client, method, path, allowed):
    """A known path with a wrong method: 405 with Allow, in the path's format."""
    response = client.open(path, method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    _no_leak(response)
    xml = client.open(path.replace(".json", ".xml"), method=method)
    assert xml.status_code == 405
    assert xml_of(xml).findtext("error/code") == "405"


def test_unusual_method_on_unknown_path_is_404(client):
    """Even a made-up method on a made-up path stays in the Open311 format."""
    response = client.open("/open311/v2/whatever.json", method="BREW")
    assert response.status_code == 404
    _no_leak(response)


def test_a_too_large_body_is_413_in_open311_format(app, refdata, client, api_key, monkeypatch):
    """A body over MAX_CONTENT_LENGTH: 413, still the Open311 way."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2000)
    response = client.post("/open311/v2/requests.json",
                           data=request_form(api_key, description="x" * 5000))
    assert response.status_code == 413
    _no_leak(response)


# ----------------------------------------------------------------------------- fuzz


GARBAGE = [
    "", " ", "\x00", "\x7f", "'; DROP TABLE cases; --", "<script>alert(1)</script>",
    "]]>&amp;<!--", "😀" * 50, "Đắk Lắk", "\ufeff", "\ufffd", "NaN",
    "Infinity", "-inf", "1e400", "-0", "9" * 400, "0x1A", "null", "true", "[]", "{}",
    "%00", "%FF", "a,b,,c", ",,,", "x" * 5000, "2026-02-30T00:00:00Z", "9999-12-31",
    "0001-01-01T00:00:00+14:00", "2026-05-01T00:00:00+99:00", "12.62", "108.02",
]
PARAMS = [
    "api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string", "address_id",
    "email", "device_id", "account_id", "first_name", "last_name", "phone", "description",
    "media_url", "service_request_id", "start_date", "end_date", "status", "locale",
    "attribute[hazard_size]", "attribute[lanes][]", "attribute[]", "attribute[[x]]",
    "attribute[a][b][c]", "attribute", "attributes[x]", "media", "token", "page",
]


def _random_params(rng: random.Random, api_key: str) -> list[tuple[str, str]]:
    params = [(rng.choice(PARAMS), rng.choice(GARBAGE)) for _ in range(rng.randint(0, 12))]
    if rng.random() < 0.6:
        params.append(("api_key", api_key))
    if rng.random() < 0.5:
        params.append(("service_code", rng.choice(["roads", "other", "nope"])))
    if rng.random() < 0.5:
        params += [("lat", str(INSIDE_WARD[0])), ("long", str(INSIDE_WARD[1]))]
    if rng.random() < 0.2:
        params.append((f"attribute[{''.join(rng.choices(string.printable, k=8))}]", "x"))
    return params


@pytest.mark.parametrize("seed", range(8))
def test_random_input_never_breaks_an_endpoint(road_fields, client, api_key, seed):
    """Random and garbled parameters, on every endpoint, by GET and by POST: a 2xx or a 4xx in
    the Open311 format, never a 5xx or an HTML page."""
    rng = random.Random(seed)
    paths = ["/open311/v2/requests", "/open311/v2/services", "/open311/v2/services/roads",
             "/open311/v2/requests/1", "/open311/v2/tokens/1", "/open311/discovery"]
    for _ in range(25):
        path = rng.choice(paths) + rng.choice([".json", ".xml"])
        params = _random_params(rng, api_key)
        if rng.random() < 0.5:
            response = client.get(path, query_string=params)
        else:
            response = client.post(path, data=MultiDict(params),
                                   content_type="application/x-www-form-urlencoded")
        _no_leak(response)


@pytest.mark.parametrize("fields", [
    {"description": "x" * 100_000},
    {"description": "\x00\x01\x02"},
    {"description": "a\u202eb\u200b" * 100},
    {"lat": "NaN", "long": "NaN"},
    {"lat": "1e400", "long": "1e400"},
    {"lat": " 12.62 ", "long": " 108.02 "},
    {"lat": "12,62", "long": "108,02"},
    {"service_code": "roads\x00"},
    {"service_code": "😀"},
    {"service_code": "x" * 10_000},
    {"jurisdiction_id": "\x00"},
    {"api_key": "x" * 10_000},
    {"email": "a@" + "b" * 300 + ".vn"},
    {"phone": "+" + "9" * 50},
    {"media_url": "http://" + "a" * 3000 + ".vn/x.jpg"},
    {"media_url": "https://example.com/\x00.jpg"},
    {"first_name": "\x1b[31mred"},
    {"address_string": "\n\n\n"},
    {"attribute[hazard_size]": ["small"] * 200},
    {f"attribute[f{i}]": "x" for i in range(300)},
    {"attribute[hazard_size][][]": "small"},
    {"attribute[" + "x" * 500 + "]": "small"},
    {"attribute[hazard_size]": "small", "attribute[depth_cm]": "1e400"},
    {"attribute[hazard_size]": "small", "attribute[seen_at]": "0001-01-01T00:00:00+14:00"},
    {"attribute[hazard_size]": "small", "attribute[details]": "dòng\x00"},
])
def test_hostile_posts_are_4xx_or_filed(road_fields, post_request, api_key, fields):
    """Hand-picked abuse of POST requests: refused cleanly (4xx) or filed (200)."""
    data = request_form(api_key, **{"attribute[hazard_size]": "small"})
    data.update(fields)
    for fmt in ("json", "xml"):
        _no_leak(post_request(data, fmt))


@pytest.mark.parametrize("query", [
    "service_request_id=" + ",".join(["1"] * 1000),
    "service_request_id=" + "9" * 5000,
    "service_request_id=%00,%FF,😀",
    "status=%00", "status=OPEN", "service_code=" + ",".join(["x"] * 500),
    "start_date=9999-12-31&end_date=9999-12-31", "end_date=0001-01-01",
    "start_date=2026-01-01T00:00:00%2B07:00", "locale=xx_YY", "locale=%00",
    "jurisdiction_id=%00", "start_date=" + "2" * 60, "service_code=roads%00,%1B",
    "service_request_id=%C2%B2,%D9%A1%D9%A2", "service_request_id=pa-%00",
])
def test_hostile_queries_are_4xx_or_answered(refdata, client, query):
    """Hand-picked abuse of GET requests: answered or refused cleanly, never 5xx."""
    for fmt in ("json", "xml"):
        _no_leak(client.get(f"/open311/v2/requests.{fmt}?{query}"))


def test_multipart_oddities_are_refused_cleanly(refdata, client, api_key):
    """`media` as a text field, an empty file part, a JSON body: no 5xx."""
    base = request_form(api_key)
    cases = [
        ({**base, "media": "not a file"}, "multipart/form-data"),
        ({**base, "media": (io.BytesIO(b""), "")}, "multipart/form-data"),
        ({**base, "media": (io.BytesIO(b""), "empty.jpg")}, "multipart/form-data"),
        ({**base, "media[]": (io.BytesIO(jpeg()), "a.jpg")}, "multipart/form-data"),
    ]
    for data, content_type in cases:
        _no_leak(client.post("/open311/v2/requests.json", data=data, content_type=content_type))
    _no_leak(client.post(f"/open311/v2/requests.json?api_key={api_key}", json=base))
    _no_leak(client.post("/open311/v2/requests.json", data=b"\xff\xfe\x00garbage",
                         content_type="application/x-www-form-urlencoded"))
    _no_leak(client.post("/open311/v2/requests.json", data=b"--x\r\n\r\n",
                         content_type="multipart/form-data; boundary=x"))
