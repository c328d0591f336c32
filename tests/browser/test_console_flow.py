"""The console end to end in headless Chromium: triage, resolve with a photo, the figures,
and the public result without personal data."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from reports_app.demo.loader import DEMO_PASSWORD
from reports_app.extensions import db
from reports_app.models import Agency, User
from tests.factories import auth_headers

BMT_POINT = (12.65955, 108.03247)
"""Inside the demo ward 24133 (Phường Buôn Ma Thuột)."""
CITIZEN = {"name": "Nguyễn Văn Dân", "email": "citizen@demo.test", "phones": ("0900000001",
                                                                             "+84900000001",
                                                                             "84900000001")}
REPLY = "Đã dựng lại cột biển báo và gia cố chân cột."


def submit_report(client: FlaskClient, photo: Path) -> dict[str, Any]:
    """The demo citizen sends a report in `other`, a category no rule routes: it awaits triage."""
    citizen = db.session.scalar(sa.select(User).where(User.email == CITIZEN["email"]))
    data = {"category": "other", "lat": str(BMT_POINT[0]), "lon": str(BMT_POINT[1]),
            "description": "Cột biển báo bị nghiêng sắp đổ trước cổng trường.",
            "address": "Trước cổng trường tiểu học, đường Lê Duẩn",
            "photos": [FileStorage(io.BytesIO(photo.read_bytes()), filename="report.jpg",
                                   content_type="image/jpeg")]}
    boundary, payload = encode_multipart(data)
    response = client.post("/api/v1/reports", data=payload, headers=auth_headers(citizen),
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"]["code"] == "submitted"
    return body


def sign_in(page: Any, email: str, landing: str) -> None:
    page.goto("/console/login")
    page.get_by_label("Số điện thoại hoặc email").fill(email)
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"**{landing}")


def handled_figure(page: Any) -> int:
    figure = page.locator("#fig-handled")
    figure.wait_for()
    return int(figure.get_attribute("data-value"))


def test_report_goes_from_triage_to_a_public_result(new_page, screenshot, client, demo,
                                                     shared_dir):
    """An operator assigns a new report, the agency accepts and resolves it with an "after"
    photo, the supervisor's handled count goes up, and the public page shows the reply and the
    photo with no personal data; no page reaches beyond 127.0.0.1."""
    from playwright.sync_api import expect

    photos = shared_dir / "photos" / "orientation"
    report = submit_report(client, photos / "landscape_2.jpg")
    code, case_id = report["tracking_code"], report["id"]
    agency = db.session.scalar(sa.select(Agency).where(Agency.code == "UBND-BMT"))

    # The supervisor's figures before.
    supervisor = new_page()
    sign_in(supervisor, "supervisor@demo.test", "/console/supervisor")
    handled_before = handled_figure(supervisor)
    screenshot(supervisor, "supervisor_before")

    # The operator triages: the report is in the "new" list with its photo and map.
    operator = new_page()
    sign_in(operator, "operator@demo.test", "/console/triage")
    row = operator.locator(f'.case-row[data-case-id="{case_id}"]')
    expect(row).to_contain_text(code)
    expect(row.locator("img")).to_have_count(1)
    row.click()
    assign = operator.locator('form[data-action="assign"]')
    expect(assign).to_be_visible()
    expect(operator.locator("#detail .reporter")).to_contain_text(CITIZEN["name"])
    expect(operator.locator("#detail .leaflet-interactive").first).to_be_attached()
    screenshot(operator, "triage")
    assign.get_by_label("Đơn vị xử lý").select_option(str(agency.id))
    assign.get_by_role("button", name="Chuyển xử lý").click()
    expect(operator.locator("#page-status")).to_contain_text(f"Đã chuyển {code}")
    expect(operator.locator("#detail .case-title")).to_contain_text("Đã chuyển xử lý")
    expect(row).to_have_count(0)

    # The agency's staff member accepts and resolves it with an "after" photo.
    staff = new_page()
    sign_in(staff, "staff.ubnd-bmt@demo.test", "/console/queue")
    link = staff.get_by_role("link", name=code)
    expect(link).to_be_visible()
    expect(staff.locator(f'tr[data-case-id="{case_id}"]')).to_contain_text(
        re.compile(r"còn .* làm việc"))
    screenshot(staff, "queue")
    link.click()
    staff.wait_for_url(f"**/console/cases/{case_id}")
    accept = staff.locator('form[data-action="accept"]')
    expect(accept).to_be_visible()
    assert CITIZEN["name"] not in staff.content()
    accept.get_by_role("button", name="Tiếp nhận xử lý").click()
    expect(staff.locator(".case-title")).to_contain_text("Đang xử lý")
    resolve = staff.locator('form[data-action="resolve"]')
    expect(resolve).to_be_visible()
    resolve.locator("textarea[name=note]").fill(REPLY)
    resolve.locator("input[type=file]").set_input_files(str(photos / "landscape_1.jpg"))
    screenshot(staff, "case_resolve_form")
    resolve.get_by_role("button", name="Báo kết quả xử lý").click()
    expect(staff.locator(".case-title")).to_contain_text("Đã xử lý")
    expect(staff.locator('.photo-group img[alt^="Ảnh sau xử lý"]')).to_have_count(1)
    screenshot(staff, "case_resolved")

    # The supervisor sees one more case handled.
    supervisor.reload()
    expect(supervisor.locator("#fig-handled")).to_have_attribute("data-value", str(handled_before + 1))
    screenshot(supervisor, "supervisor_after")

    # The public sees the result, and nothing personal.
    public = new_page()
    public.goto(f"/reports/{code}")
    expect(public.locator("#public-reply")).to_have_text(REPLY)
    after = public.locator('.photo-group[data-kind="after"] img')
    expect(after).to_have_count(1)
    after.evaluate("img => img.decode()")
    assert after.evaluate("img => img.naturalWidth") > 0
    expect(public.locator("h1")).to_contain_text("Đã xử lý")
    html = public.content()
    for secret in (CITIZEN["name"], CITIZEN["email"], *CITIZEN["phones"]):
        assert secret not in html
    screenshot(public, "public_report")

    public.goto("/")
    expect(public.get_by_role("link", name=code).first).to_be_visible()
    expect(public.locator("#public-map .leaflet-interactive").first).to_be_attached()
    html = public.content()
    for secret in (CITIZEN["name"], CITIZEN["email"], *CITIZEN["phones"]):
        assert secret not in html
    screenshot(public, "public_home")


def test_pages_read_on_a_phone_and_in_english(new_page, screenshot, demo):
    """The public page fits a phone screen in one column, and the switch turns it English."""
    page = new_page(width=390, height=844)
    page.goto("/")
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", level=1)).to_have_text("Citizens' reports")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    screenshot(page, "public_home_phone_en")
    page.goto("/console/login")
    expect(page.get_by_label("Phone number or e-mail")).to_be_visible()
    screenshot(page, "login_phone_en")


def test_unknown_console_page_is_a_friendly_page(new_page, screenshot, demo):
    """An unknown console address shows a page with ways back, not a JSON error."""
    page = new_page()
    response = page.goto("/console/no-such-page")
    assert response.status == 404
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy trang")
    screenshot(page, "not_found")

