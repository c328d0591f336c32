"""The figures API as the console and the public pages call it."""

from __future__ import annotations

import csv
import io
import re
from xml.etree import ElementTree

import pytest
import time_machine

from reports_app.extensions import db
from reports_app.scheduler import run_job
from tests import factories
from tests.stats.conftest import local, submit
from tests.stats.history import AS_OF, OCTOBER, build_october
from workflows.jobs import declared_jobs
from workflows.roles import Role
from workflows.stats import BREAKDOWNS, compute_summary

OCT = "from=2026-10-01&to=2026-11-01"


@pytest.fixture
def october(app, province, citizen):
    return build_october(app, province, citizen)


@pytest.fixture
def at_cutoff():
    """Requests made at 00:30 on Nov 1, when the October summary is built."""
    with time_machine.travel(AS_OF, tick=False):
        yield


@pytest.fixture
def kept(app, october):
    """September (empty) and October kept by the job, as the scheduler would."""
    job = next(j for j in declared_jobs() if j.id == "build_monthly_summary")
    run_job(app, job, now=local(2026, 10, 1, 0, 30))
    run_job(app, job, now=AS_OF)


def test_summary_is_for_supervisors_and_admins(client, auth, province):
    """Anonymous 401; citizens, staff and operators 403; supervisors and admins 200."""
    assert client.get(f"/api/v1/stats/summary?{OCT}").status_code == 401
    for role in (Role.CITIZEN, Role.STAFF, Role.OPERATOR):
        user = factories.make_user(role, agency=province.department if role == Role.STAFF
                                   else None)
        response = client.get(f"/api/v1/stats/summary?{OCT}", headers=auth(user))
        assert (response.status_code, response.get_json()["error"]) == (403, "forbidden")
    for user in (province.supervisor, factories.make_user(Role.ADMIN)):
        assert client.get(f"/api/v1/stats/summary?{OCT}", headers=auth(user)).status_code == 200


def test_summary_answers_the_figures_and_every_breakdown_by_default(at_cutoff, client, auth,
                                                                    october, province):
    """The body is the workflow's summary; dates are midnights in province time."""
    response = client.get(f"/api/v1/stats/summary?{OCT}", headers=auth(province.supervisor))
    assert response.status_code == 200
    body = response.get_json()
    expected = compute_summary(db.session, OCTOBER, AS_OF, breakdowns=BREAKDOWNS).as_dict()
    assert body["figures"] == expected["figures"]
    assert body["breakdowns"] == expected["breakdowns"]
    assert body["headline"]["en"] == "9 of 14 handled, 85% satisfied"
    assert body["window"] == {"from": "2026-10-01T00:00:00+07:00",
                              "to": "2026-11-01T00:00:00+07:00"}
    assert body["filters"] == {"agency": None, "category": None, "area": None}


def test_summary_filters_and_chosen_breakdowns(at_cutoff, client, auth, october, province):
    """agency=, category=, area= filter; breakdown= picks the breakdowns (empty: none)."""
    headers = auth(province.supervisor)
    body = client.get(f"/api/v1/stats/summary?{OCT}&area={province.ward2.id}&breakdown=agency",
                      headers=headers).get_json()
    assert body["figures"]["received"] == 2
    assert set(body["breakdowns"]) == {"agency"}
    assert [row["code"] for row in body["breakdowns"]["agency"]] == ["UBND-W2"]
    body = client.get(f"/api/v1/stats/summary?{OCT}&category={province.lights.id}"
                      f"&agency={province.ward2_agency.id}&breakdown=", headers=headers).get_json()
    assert body["breakdowns"] == {}
    assert body["filters"]["category"] == province.lights.id
    assert body["figures"]["received"] == 2


@pytest.mark.parametrize(("query", "field"), [
    ("from=2026-13-01", "from"), ("from=2026-10-01T00:00", "from"), ("to=yesterday", "to"),
    ("from=2026-11-01&to=2026-10-01", "from"), ("agency=999999", "agency"),
    ("category=0", "category"), ("area=999999", "area"), ("breakdown=agency,ward", "breakdown")])
def test_summary_refuses_bad_arguments_with_field_errors(client, auth, province, query, field):
    """422 validation_error naming the field."""
    response = client.get(f"/api/v1/stats/summary?{query}", headers=auth(province.supervisor))
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation_error"
    assert field in body["errors"]


def test_summary_accepts_instants_with_an_offset(at_cutoff, client, auth, october, province):
    """from/to may be instants; to is exclusive."""
    query = "from=2026-10-31T17:00:00%2B00:00&to=2026-10-31T17:20:00Z"
    body = client.get(f"/api/v1/stats/summary?{query}", headers=auth(province.supervisor))
    assert body.status_code == 200
    assert body.get_json()["figures"]["received"] == 1  # c15, Nov 1 00:10 province time


def test_public_summary_is_open_to_anyone_with_province_totals_only(at_cutoff, client,
                                                                   october):
    """No token, no filters, no breakdowns; cacheable."""
    response = client.get(f"/api/v1/stats/public-summary?{OCT}")
    assert response.status_code == 200
    assert "max-age=300" in response.headers["Cache-Control"]
    body = response.get_json()
    assert set(body) == {"window", "as_of", "figures", "headline"}
    assert body["figures"] == compute_summary(db.session, OCTOBER, AS_OF).as_dict()["figures"]


def test_public_summary_defaults_to_this_year_and_is_reused_for_a_few_minutes(app, client,
                                                                             province, citizen):
    """Year to date; the same window is computed once per 5 minutes per process."""
    reporter = citizen()
    submit(province, reporter, province.other, local(2026, 3, 1))
    with time_machine.travel(local(2026, 6, 1), tick=False):
        first = client.get("/api/v1/stats/public-summary").get_json()
        assert first["window"]["from"] == "2026-01-01T00:00:00+07:00"
        assert first["figures"]["received"] == 1
        submit(province, reporter, province.other, local(2026, 4, 1))
        assert client.get("/api/v1/stats/public-summary").get_json() == first
        app.extensions["stats_public_cache"].clear()
        assert client.get("/api/v1/stats/public-summary").get_json()["figures"]["received"] == 2


def test_monthly_summary_not_built_is_404_summary_not_built(client, auth, province):
    """Stored summaries only; the message says when they are built, in vi or en."""
    response = client.get("/api/v1/stats/monthly/2026-10", headers=auth(province.supervisor))
    assert (response.status_code, response.get_json()["error"]) == (404, "summary_not_built")
    assert "00:30" in response.get_json()["message"]
    english = client.get("/api/v1/stats/monthly/2026-10?lang=en",
                         headers=auth(province.supervisor)).get_json()["message"]
    assert english.startswith("This month's summary has not been built")


def test_monthly_summary_refuses_a_malformed_month_or_format(client, auth, province):
    """422 for a month that is not YYYY-MM or an unknown format."""
    headers = auth(province.supervisor)
    response = client.get("/api/v1/stats/monthly/2026-13", headers=headers)
    assert (response.status_code, list(response.get_json()["errors"])) == (422, ["month"])
    response = client.get("/api/v1/stats/monthly/2026-10?format=pdf", headers=headers)
    assert (response.status_code, list(response.get_json()["errors"])) == (422, ["format"])


def test_monthly_summary_is_for_supervisors_and_admins(client, auth, kept, province):
    """Citizens and staff get 403."""
    user = factories.make_user(Role.CITIZEN)
    assert client.get("/api/v1/stats/monthly/2026-10", headers=auth(user)).status_code == 403


def test_monthly_json_is_the_kept_summary_with_the_trend(client, auth, kept, province):
    """What the job stored, its cut-off, and the kept months before it."""
    body = client.get("/api/v1/stats/monthly/2026-10",
                      headers=auth(province.supervisor)).get_json()
    assert body["month"] == "2026-10"
    assert body["headline"]["vi"] == "Đã xử lý 9/14 phản ánh, 85% hài lòng"
    assert body["cutoff_at"].startswith("2026-10-31T17:30:00")
    assert [point["month"] for point in body["trend"]] == ["2026-09", "2026-10"]
    assert body["trend"][0]["received"] == 1  # c14, Sept 30 23:00
    assert body["trend"][1]["handled"] == 9


def test_monthly_csv_has_a_bom_and_round_trips_vietnamese_text(client, auth, kept, province):
    """UTF-8 with BOM so Excel reads it; the csv module gets the same names back."""
    response = client.get("/api/v1/stats/monthly/2026-10?format=csv",
                          headers=auth(province.supervisor))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="bao-cao-2026-10.csv"' in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:5] == ["Nhóm", "Mã", "Tên", "Tiếp nhận", "Đã xử lý"]
    by_name = {row[2]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    assert by_name["Toàn tỉnh"]["Tiếp nhận"] == "14"
    assert by_name[province.department.name_vi]["Mã"] == "SXD"
    assert by_name[province.lights.name_vi]["Nhóm"] == "Lĩnh vực"
    assert {row[0] for row in rows[1:]} == {"Toàn tỉnh", "Đơn vị", "Lĩnh vực"}
    english = client.get("/api/v1/stats/monthly/2026-10?format=csv&lang=en",
                         headers=auth(province.supervisor))
    assert english.data.decode("utf-8-sig").startswith("Section,Code,Name,Received,Handled")


def test_monthly_html_is_a_printable_page_with_charts_and_the_headline(client, auth, kept,
                                                                       province):
    """Headline, a table per agency and per category, the trend as inline SVG; no network."""
    response = client.get("/api/v1/stats/monthly/2026-10?format=html",
                          headers=auth(province.supervisor))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    page = response.data.decode()
    assert "Đã xử lý 9/14 phản ánh, 85% hài lòng" in page
    assert page.count("<svg") == 2
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        root = ElementTree.fromstring(svg)  # noqa: S314 - our own output, well-formed XML
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.findall(".//{http://www.w3.org/2000/svg}text")
    assert province.department.name_vi in page
    assert "10/2026" in page
    assert "09/2026" in page
    assert "<script" not in page
    assert not re.search(r"(src|href)=\"?(https?:)?//", page)
    english = client.get("/api/v1/stats/monthly/2026-10?format=html&lang=en",
                         headers=auth(province.supervisor)).data.decode()
    assert "9 of 14 handled, 85% satisfied" in english
    assert 'lang="en"' in english
    assert "Oct 2026" in english


def test_monthly_html_escapes_names(client, auth, kept, province):
    """Names typed by admins are text, never markup (Jinja autoescaping, escaped SVG)."""
    from workflows.monthly import rebuild_month

    province.department.name_vi = '<script>alert("x")</script> Sở'
    db.session.commit()
    rebuild_month(db.session, "2026-10", AS_OF, "Asia/Ho_Chi_Minh")
    db.session.commit()
    page = client.get("/api/v1/stats/monthly/2026-10?format=html",
                      headers=auth(province.supervisor)).data.decode()
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Sở" in page
