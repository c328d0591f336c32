"""The rest of the daily work in headless Chromium: merging a duplicate and rejecting from
triage, asking for and granting an extension, acknowledging a breach, the monthly summary."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from reports_app.db import utcnow
from reports_app.demo.loader import DEMO_PASSWORD
from reports_app.extensions import db
from reports_app.models import Agency, Area, Case, Category, SlaEvent, User
from reports_app.scheduler import run_job
from reports_app.workflow_context import workflow_context
from workflows.jobs import declared_jobs
from workflows.monthly import previous_month, rebuild_month
from workflows.operations import Actor, NewReport, perform_action, submit_report

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
BMT_POINT = (12.65955, 108.03247)


def user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def new_case(*, now: datetime | None = None, agency: str | None = None, description: str,
             point: tuple[float, float] = BMT_POINT) -> Case:
    """A report from the demo citizen in `other`, through the engine (routed when `agency`)."""
    citizen = user("citizen@demo.test")
    category = db.session.scalar(sa.select(Category).where(Category.code == "other"))
    area = db.session.scalar(sa.select(Area).where(Area.code == "24133"))
    agency_id = db.session.scalar(sa.select(Agency.id).where(Agency.code == agency)) if agency else None
    case = submit_report(db.session, NewReport(category=category, description=description,
                                               lat=point[0], lon=point[1], area_id=area.id),
                         Actor(citizen), workflow_context(now), reporter=citizen,
                         routed_agency_id=agency_id)
    db.session.commit()
    return case


def act(case: Case, action: str, email: str, now: datetime | None = None, **fields) -> None:
    perform_action(db.session, case, action, Actor(user(email)), fields, workflow_context(now))
    db.session.commit()


def sign_in(page, email: str, landing: str) -> None:
    page.goto("/console/login")
    page.get_by_label("Số điện thoại hoặc email").fill(email)
    page.get_by_label("Mật khẩu").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"**{landing}")


def test_operator_merges_a_duplicate_and_rejects_spam(new_page, screenshot, demo):
    """From triage, one click merges a report into a similar one nearby, and a reason rejects."""
    from playwright.sync_api import expect

    first = new_case(description="Rác thải đổ thành đống bên đường")
    second = new_case(description="Đống rác lớn ven đường, bốc mùi",
                      point=(BMT_POINT[0] + 0.0005, BMT_POINT[1]))
    spam = new_case(description="Quảng cáo bán hàng", point=(12.70, 108.05))
    page = new_page()
    sign_in(page, "operator@demo.test", "/console/triage")
    page.locator(f'.case-row[data-case-id="{second.id}"]').click()
    merge = page.get_by_role("button", name=f"Gộp vào {first.tracking_code}")
    expect(merge).to_be_visible()
    screenshot(page, "triage_nearby")
    merge.click()
    expect(page.locator("#page-status")).to_contain_text("Đã gộp")
    expect(page.locator("#detail .case-title")).to_contain_text("Từ chối")
    db.session.expire_all()
    merged = db.session.get(Case, second.id)
    assert (merged.state, merged.reject_reason, merged.duplicate_of_id) == (
        "rejected", "duplicate", first.id)

    page.locator(f'.case-row[data-case-id="{spam.id}"]').click()
    reject = page.locator('details[data-action="reject"]')
    reject.locator("summary").click()
    reject.get_by_label("Lý do").select_option("spam")
    expect(reject.get_by_label("Trùng với phản ánh (mã hoặc số hồ sơ)")).to_be_hidden()
    reject.get_by_role("button", name="Từ chối").click()
    expect(page.locator("#page-status")).to_contain_text(f"Đã từ chối {spam.tracking_code}")
    db.session.expire_all()
    assert db.session.get(Case, spam.id).reject_reason == "spam"


def test_extension_is_asked_by_staff_and_granted_by_the_supervisor(new_page, screenshot, demo):
    """Staff ask for a later deadline on the case page; the supervisor grants it in one click."""
    from playwright.sync_api import expect

    case = new_case(agency="UBND-BMT", description="Cống thoát nước bị vỡ")
    act(case, "accept", "staff.ubnd-bmt@demo.test")
    staff = new_page()
    sign_in(staff, "staff.ubnd-bmt@demo.test", "/console/queue")
    staff.goto(f"/console/cases/{case.id}")
    ask = staff.locator('details[data-action="request_extension"]')
    ask.locator("summary").click()
    ask.get_by_label("Lý do").fill("Chờ vật tư thay thế")
    ask.get_by_label("Thời hạn mới").fill("2031-03-14T16:00")
    ask.get_by_role("button", name="Xin gia hạn").click()
    expect(staff.locator("#page-status")).to_contain_text("Xin gia hạn")
    db.session.expire_all()
    wanted = datetime(2031, 3, 14, 16, 0, tzinfo=ZONE)
    assert db.session.get(Case, case.id).pending_extension_due_at == wanted.astimezone(UTC)

    supervisor = new_page()
    sign_in(supervisor, "supervisor@demo.test", "/console/supervisor")
    row = supervisor.locator(f'#extensions tr[data-case-id="{case.id}"]')
    expect(row).to_contain_text("16:00 14/03/2031")
    row.get_by_role("button", name="Đồng ý", exact=True).click()
    expect(supervisor.locator("#page-status")).to_contain_text(f"Đã đồng ý gia hạn {case.tracking_code}")
    expect(row).to_have_count(0)
    db.session.expire_all()
    granted = db.session.get(Case, case.id)
    assert granted.extension_granted
    assert granted.resolve_due_at == wanted.astimezone(UTC)


def test_supervisor_acknowledges_a_breach_and_reads_the_monthly_summary(new_page, screenshot, app,
                                                                       demo):
    """A breach recorded by the sweeper is listed and acknowledged; last month's kept summary
    shows its figures, a chart and the downloads."""
    from playwright.sync_api import expect

    now = utcnow()
    month = previous_month(now, "Asia/Ho_Chi_Minh")
    start = datetime.strptime(f"{month}-10 09:00", "%Y-%m-%d %H:%M").replace(tzinfo=ZONE)
    done = new_case(now=start, agency="UBND-BMT", description="Biển báo bị che khuất")
    act(done, "accept", "staff.ubnd-bmt@demo.test", start + timedelta(hours=1))
    act(done, "resolve", "staff.ubnd-bmt@demo.test", start + timedelta(hours=2),
        note="Đã cắt tỉa cây che biển báo.")
    new_case(now=start, agency="UBND-BMT", description="Vỉa hè bị lấn chiếm")
    before = previous_month(start.replace(day=1).astimezone(UTC), "Asia/Ho_Chi_Minh")
    rebuild_month(db.session, before, now, "Asia/Ho_Chi_Minh")
    rebuild_month(db.session, month, now, "Asia/Ho_Chi_Minh")
    db.session.commit()
    # Filed after the summaries were kept, so it is in none of them, whatever today's date.
    late = new_case(now=now - timedelta(days=10), description="Cây đổ chắn lối đi")
    run_job(app, next(j for j in declared_jobs() if j.id == "sweep_deadlines"), now)
    event = db.session.scalar(sa.select(SlaEvent).where(SlaEvent.case_id == late.id,
                                                        SlaEvent.kind == "breach"))
    assert event is not None

    page = new_page()
    sign_in(page, "supervisor@demo.test", "/console/supervisor")
    breach = page.locator("#breaches tr", has_text=late.tracking_code)
    expect(breach).to_contain_text("phân loại")
    breach.get_by_label(f"Ghi chú ghi nhận quá hạn {late.tracking_code}").fill("Đã nhắc bộ phận tiếp nhận.")
    breach.get_by_role("button", name="Ghi nhận").click()
    expect(page.locator("#page-status")).to_contain_text(f"Đã ghi nhận quá hạn của {late.tracking_code}")
    expect(page.locator("#breaches tr", has_text=late.tracking_code)).to_contain_text("Lãnh đạo IOC")

    monthly = page.locator("#monthly-body")
    expect(monthly.locator(".headline")).to_contain_text("Đã xử lý 1/2 phản ánh")
    expect(monthly.locator("#month-received")).to_have_attribute("data-value", "2")
    expect(monthly.locator("svg.chart rect.bar-handled")).to_have_count(2)
    expect(monthly.locator("table")).to_contain_text("Ủy ban nhân dân phường Buôn Ma Thuột")
    with page.expect_download() as download:
        monthly.get_by_role("button", name="Tải CSV").click()
    assert download.value.suggested_filename == f"bao-cao-{month}.csv"
    assert re.search(r"Ủy ban nhân dân phường Buôn Ma Thuột", download.value.path().read_text("utf-8-sig"))
    screenshot(page, "supervisor_monthly")


SESSION_KEY = "reports_console.session"


def test_expired_access_token_is_renewed_and_sign_out_revokes_the_session(new_page, client, demo):
    """An expired access token is renewed with the refresh token (no new sign-in); signing out
    forgets the tokens and revokes them."""
    from flask_jwt_extended import create_access_token
    from playwright.sync_api import expect

    new_case(agency="UBND-BMT", description="Đèn tín hiệu giao thông không sáng")
    page = new_page()
    sign_in(page, "staff.ubnd-bmt@demo.test", "/console/queue")
    staff = user("staff.ubnd-bmt@demo.test")
    expired = create_access_token(identity=staff, expires_delta=timedelta(seconds=-60),
                                  additional_claims={"role": "staff", "agency_id": staff.agency_id})
    page.evaluate("""([key, token]) => {
        const session = JSON.parse(sessionStorage.getItem(key));
        session.access_token = token;
        sessionStorage.setItem(key, JSON.stringify(session));
    }""", [SESSION_KEY, expired])
    page.reload()
    expect(page.locator("#queue-total")).to_contain_text("1 hồ sơ")
    session = page.evaluate(f"JSON.parse(sessionStorage.getItem('{SESSION_KEY}'))")
    assert session["access_token"] != expired

    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url("**/console/login")
    assert page.evaluate(f"sessionStorage.getItem('{SESSION_KEY}')") is None
    refused = client.post("/api/v1/auth/refresh",
                          headers={"Authorization": f"Bearer {session['refresh_token']}"})
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "token_revoked"
    page.goto("/console/queue")
    page.wait_for_url("**/console/login?next=%2Fconsole%2Fqueue")
