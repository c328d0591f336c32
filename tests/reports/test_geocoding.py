"""The address plug-in: offline by default, Nominatim when configured, never in the way."""

from __future__ import annotations

import threading
import time

import pytest
from geopy.exc import GeocoderServiceError

from reports_app.reports.geocoding import (
    AreaNameGeocoder,
    BoundedGeocoder,
    NominatimGeocoder,
    geocoder_from_config,
)
from tests.reports.conftest import INSIDE_WARD


class Raising:
    """A geocoder whose server answers with an error."""

    calls = 0

    def reverse(self, lat: float, lon: float) -> str | None:
        Raising.calls += 1
        raise GeocoderServiceError("HTTP 503")


class Hanging:
    """A geocoder whose server never answers (until the test releases it)."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def reverse(self, lat: float, lon: float) -> str | None:
        self.release.wait(10)
        return "too late"


class Answering:
    """A geocoder that knows the street."""

    def reverse(self, lat: float, lon: float) -> str | None:
        return "12 Lê Duẩn, Phường Tân Lập"


def test_default_address_is_the_area_name(refdata, submit):
    """Offline (the default): a report without an address gets its area's name."""
    body = submit().get_json()
    assert body["address"] == f"{refdata.ward.name_vi}, {refdata.province.name_vi}"


def test_citizen_address_is_kept_and_the_geocoder_not_asked(app, refdata, submit, monkeypatch):
    """The geocoder only fills in a missing address."""
    monkeypatch.setitem(app.extensions, "geocoder", Raising())
    Raising.calls = 0
    assert submit(address="Trước cổng chợ").get_json()["address"] == "Trước cổng chợ"
    assert Raising.calls == 0


def test_configured_geocoder_supplies_the_address(app, refdata, submit, monkeypatch):
    """A geocoder's answer becomes the address."""
    monkeypatch.setitem(app.extensions, "geocoder", BoundedGeocoder(Answering(), timeout=5))
    assert submit().get_json()["address"] == "12 Lê Duẩn, Phường Tân Lập"


@pytest.mark.parametrize("wrapped", [True, False], ids=["bounded", "bare-plugin"])
def test_failing_geocoder_falls_back_to_the_area_name(app, refdata, submit, monkeypatch,
                                                      wrapped):
    """A geocoder error never fails the submission."""
    geocoder = BoundedGeocoder(Raising(), timeout=5) if wrapped else Raising()
    monkeypatch.setitem(app.extensions, "geocoder", geocoder)
    response = submit()
    assert response.status_code == 201
    assert response.get_json()["address"].startswith(refdata.ward.name_vi)


def test_slow_geocoder_does_not_hold_up_the_submission(app, refdata, submit, monkeypatch):
    """After GEOCODER_TIMEOUT the report is filed with the area name; later ones skip it."""
    hanging = Hanging()
    geocoder = BoundedGeocoder(hanging, timeout=0.2, cool_down=60)
    monkeypatch.setitem(app.extensions, "geocoder", geocoder)
    try:
        started = time.monotonic()
        response = submit()
        elapsed = time.monotonic() - started
        assert response.status_code == 201
        assert response.get_json()["address"].startswith(refdata.ward.name_vi)
        assert elapsed < 3
        assert geocoder.reverse(*INSIDE_WARD) is None  # cooling down: not even tried
    finally:
        hanging.release.set()


def test_nominatim_is_chosen_and_bounded_by_configuration():
    """GEOCODER=nominatim talks to NOMINATIM_URL through geopy, under the timeout."""
    geocoder = geocoder_from_config({"GEOCODER": "nominatim", "GEOCODER_TIMEOUT": 1.5,
                                     "NOMINATIM_URL": "http://geo.internal:8080/nominatim",
                                     "GEOCODER_USER_AGENT": "ioc-test"})
    assert isinstance(geocoder, BoundedGeocoder)
    assert geocoder.timeout == 1.5
    inner = geocoder.inner
    assert isinstance(inner, NominatimGeocoder)
    assert inner.client.domain == "geo.internal:8080/nominatim"
    assert inner.client.scheme == "http"
    assert isinstance(geocoder_from_config({}), AreaNameGeocoder)
    with pytest.raises(ValueError, match="GEOCODER"):
        geocoder_from_config({"GEOCODER": "google"})


def test_nominatim_answer_is_read_in_vietnamese():
    """The reverse call asks for one Vietnamese address at street level."""

    class Client:
        def reverse(self, query, **kwargs):
            self.query, self.kwargs = query, kwargs

            class Location:
                address = "Đường Lê Duẩn, Buôn Ma Thuột"

            return Location()

    client = Client()
    geocoder = NominatimGeocoder("https://nominatim.example", timeout=2, user_agent="t",
                                 client=client)
    assert geocoder.reverse(12.6, 108.0) == "Đường Lê Duẩn, Buôn Ma Thuột"
    assert client.query == (12.6, 108.0)
    assert client.kwargs["language"] == "vi"
    assert client.kwargs["exactly_one"] is True
