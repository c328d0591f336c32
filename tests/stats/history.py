"""October 2026 in a small province, made through the workflow with explicit times.

Every case is there for a rule of the figures; the comments say which. Times are
Hồ Chí Minh City time; the policy is the factories' default (triage 4 working hours,
acceptance 1 working day, resolution 5 working days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reports_app.extensions import db
from reports_app.models import Case, User
from reports_app.scheduler import run_job
from tests.stats.conftest import Province, act, local, rate, submit
from workflows.jobs import declared_jobs
from workflows.stats import Window

OCTOBER = Window(local(2026, 10, 1, 0), local(2026, 11, 1, 0))
AS_OF = local(2026, 11, 1, 0, 30)


@dataclass
class History:
    """The cases by name, and who sent them."""

    cases: dict[str, Case]
    reporters: dict[str, User]


def oct_(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return local(2026, 10, day, hour, minute)


def build_october(app, p: Province, make_citizen) -> History:  # noqa: ANN001 - fixtures
    """The history; the expected figures are in test_figures.py."""
    dept, ward_agency, ward2_agency = p.department, p.ward_agency, p.ward2_agency
    sd, sw, sw2 = p.staff[dept.id], p.staff[ward_agency.id], p.staff[ward2_agency.id]
    people = {name: make_citizen() for name in ("an", "binh", "chi", "dung")}
    an, binh, chi, dung = people.values()
    c: dict[str, Case] = {}

    # On time, satisfied.
    c["c1"] = submit(p, an, p.roads, oct_(1), agency=dept)
    act(c["c1"], "accept", sd, oct_(1, 10))
    act(c["c1"], "resolve", sd, oct_(2, 10), note="Đã vá", with_photo=True)
    rate(c["c1"], an, "satisfied", oct_(3, 10))
    # Late (deadline Oct 12 09:00), accepted.
    c["c2"] = submit(p, an, p.roads, oct_(5), agency=dept)
    act(c["c2"], "accept", sd, oct_(5, 14))
    act(c["c2"], "resolve", sd, oct_(20, 10), note="Đã vá", with_photo=True)
    rate(c["c2"], an, "accepted", oct_(21))
    # After the original deadline (Oct 13 09:00) but within the granted one: late with
    # extension; never rated, closed by the job once the window passed.
    c["c3"] = submit(p, binh, p.roads, oct_(6), agency=dept)
    act(c["c3"], "accept", sd, oct_(6, 10))
    act(c["c3"], "request_extension", sd, oct_(9, 10), reason="Chờ vật tư",
        due_at=oct_(16, 17))
    act(c["c3"], "extend", p.supervisor, oct_(9, 14), decision="grant")
    act(c["c3"], "resolve", sd, oct_(15, 10), note="Xong", with_photo=True)
    # Waiting on the citizen moves the deadline (Oct 14 -> Oct 19): resolved Oct 15 is on
    # time; dissatisfied within the window reopens; the second result is on time, satisfied.
    c["c4"] = submit(p, binh, p.roads, oct_(7), agency=dept)
    act(c["c4"], "accept", sd, oct_(7, 9, 30))
    act(c["c4"], "request_info", sd, oct_(7, 10), note="Ở đâu?")
    act(c["c4"], "provide_info", binh, oct_(12), note="Trước số 12")
    act(c["c4"], "resolve", sd, oct_(15), note="Xong", with_photo=True)
    rate(c["c4"], binh, "dissatisfied", oct_(16, 10), comment="Vẫn còn ổ gà")
    act(c["c4"], "resolve", sd, oct_(22, 10), note="Làm lại", with_photo=True)
    rate(c["c4"], binh, "satisfied", oct_(23))
    # Reopened on a Saturday, its new deadline (Oct 16 17:00) passed: open and overdue.
    c["c5"] = submit(p, chi, p.roads, oct_(8), agency=dept)
    act(c["c5"], "accept", sd, oct_(8, 9, 30))
    act(c["c5"], "resolve", sd, oct_(9, 10), note="Xong", with_photo=True)
    rate(c["c5"], chi, "dissatisfied", oct_(10, 10))
    # Never accepted: the acceptance deadline passed.
    c["c6"] = submit(p, chi, p.roads, oct_(12), agency=dept)
    # Waiting for triage, its deadline (Mon Nov 2 10:30) not yet passed.
    c["c7"] = submit(p, dung, p.other, oct_(30, 16))
    # Spam, a duplicate (merged into c6) and abuse are not received; out of scope is.
    c["c8"] = submit(p, dung, p.other, oct_(13))
    act(c["c8"], "reject", p.operator, oct_(13, 10), reason="spam")
    c["c9"] = submit(p, dung, p.other, oct_(13, 11))
    act(c["c9"], "reject", p.operator, oct_(13, 13, 40), reason="duplicate",
        duplicate_of=c["c6"].id)
    c["c10"] = submit(p, dung, p.other, oct_(14))
    act(c["c10"], "reject", p.operator, oct_(14, 9, 30), reason="abusive")
    c["c11"] = submit(p, dung, p.other, oct_(14, 10))
    act(c["c11"], "reject", p.operator, oct_(14, 10, 30), reason="out_of_scope")
    # Waiting on the citizen since Oct 15: open, but no running deadline, so not overdue.
    c["c12"] = submit(p, an, p.other, oct_(15))
    act(c["c12"], "assign", p.operator, oct_(15, 10), agency_id=ward_agency.id)
    act(c["c12"], "accept", sw, oct_(15, 11))
    act(c["c12"], "request_info", sw, oct_(15, 14), note="Cần ảnh rõ hơn")
    # Triaged to the ward's committee: on time, accepted.
    c["c13"] = submit(p, an, p.other, oct_(19))
    act(c["c13"], "assign", p.operator, oct_(19, 10), agency_id=ward_agency.id)
    act(c["c13"], "accept", sw, oct_(19, 10, 30))
    act(c["c13"], "resolve", sw, oct_(20), note="Xong")
    rate(c["c13"], an, "accepted", oct_(21))
    # Outside the window, on both sides.
    c["c14"] = submit(p, binh, p.roads, local(2026, 9, 30, 23), agency=dept)
    act(c["c14"], "accept", sd, oct_(1, 8))
    act(c["c14"], "resolve", sd, oct_(2), note="Xong", with_photo=True)
    c["c15"] = submit(p, binh, p.roads, local(2026, 11, 1, 0, 10), agency=dept)
    # The job closes what nobody rated for 7 days (c3; c1 and c2 are closed already).
    run_job(app, _job("close_unrated"), now=oct_(23, 12))
    # Dissatisfied after the window: the case closes, the rating counts.
    c["c16"] = submit(p, chi, p.roads, oct_(16), agency=dept)
    act(c["c16"], "accept", sd, oct_(16, 9, 30))
    act(c["c16"], "resolve", sd, oct_(19), note="Xong", with_photo=True)
    rate(c["c16"], chi, "dissatisfied", oct_(27, 10))
    # In the second ward: an extension granted, and still late after it.
    c["c17"] = submit(p, dung, p.lights, oct_(19), ward=p.ward2, agency=ward2_agency)
    act(c["c17"], "accept", sw2, oct_(19, 10))
    act(c["c17"], "request_extension", sw2, oct_(22, 10), reason="Thiếu bóng đèn",
        due_at=oct_(27, 12))
    act(c["c17"], "extend", p.supervisor, oct_(22, 11), decision="grant")
    act(c["c17"], "resolve", sw2, oct_(29, 10), note="Đã thay bóng")
    rate(c["c17"], dung, "satisfied", oct_(30))
    # Handed back to triage, then to the ward: the deadline is the new round's (Nov 2).
    c["c18"] = submit(p, chi, p.roads, oct_(20), agency=dept)
    act(c["c18"], "transfer", sd, oct_(20, 10), reason="Không thuộc đơn vị")
    act(c["c18"], "assign", p.operator, oct_(26), agency_id=ward_agency.id)
    act(c["c18"], "accept", sw, oct_(26, 10))
    act(c["c18"], "resolve", sw, oct_(30, 10), note="Xong", with_photo=True)
    # Rated, closed, then reopened by a supervisor and resolved again: the rating stays.
    c["c19"] = submit(p, dung, p.lights, oct_(21), ward=p.ward2, agency=ward2_agency)
    act(c["c19"], "accept", sw2, oct_(21, 10))
    act(c["c19"], "resolve", sw2, oct_(21, 15), note="Xong")
    rate(c["c19"], dung, "satisfied", oct_(22))
    act(c["c19"], "reopen", p.supervisor, oct_(28), note="Kiểm tra lại")
    act(c["c19"], "resolve", sw2, oct_(29), note="Đã kiểm tra")
    db.session.expire_all()
    return History(c, people)


def _job(job_id: str):  # noqa: ANN202
    return next(j for j in declared_jobs() if j.id == job_id)
