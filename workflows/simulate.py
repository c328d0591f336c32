"""A believable history for the demo province, made by the real workflow on a simulated clock.

`flask --app wsgi simulate --months 8 --reports 439 [--seed N] [--until YYYY-MM]` sends
synthetic citizens' reports at random points inside the demo wards and drives them through
`submit_report`, `perform_action` and `give_feedback` exactly as the API would, each call at
its simulated instant (`WorkflowContext.now`; nothing patches the real clock): operators
triage what routing could not place and reject some spam and duplicates, agencies accept,
sometimes ask the citizen for more, resolve with an "after" photo (one small JPEG, stored
once through media/), sometimes miss deadlines or ask for extensions that a supervisor
grants, and citizens rate the result (about 95% satisfied or accepting). The declared jobs
run along the same clock, on their own schedules but only when they have work: the SLA
sweeper at the first whole minute after a clock's next check falls due, `close_unrated` at
the first 10-minute mark after a feedback window ends, and the monthly summary at 00:30 on
each 1st. So every figure comes from real actions.

Deterministic for a seed: the same seed gives the same history (tracking codes are random
by design and differ). It fills only months that have no cases yet and have ended, in one
transaction: a failure leaves nothing behind (not even the photo it stored). The
notifications its actions queue describe a made-up past, so they are discarded rather than
sent. Synthetic citizens are accounts that cannot sign in (`sim.citizen.N@sim.demo.test`).
"""

from __future__ import annotations

import heapq
import io
import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from PIL import Image, ImageDraw
from shapely import Point
from shapely.geometry import shape
from sqlalchemy.orm import Session

from media import Storage, delete_keys, photo_keys, process_photo, store_processed
from reports_app.models import (
    Agency,
    Area,
    Case,
    CaseClock,
    Category,
    MonthlySummary,
    OutboxMessage,
    User,
)
from workflows.calendar import WorkingCalendar
from workflows.feedback import FeedbackRefused, give_feedback
from workflows.jobs import Job, JobContext, declared_jobs
from workflows.machine import Action, WorkflowError
from workflows.monthly import month_window, months_before, previous_month
from workflows.operations import Actor, NewReport, WorkflowContext, perform_action, submit_report
from workflows.photos import StoredPhoto
from workflows.placing import place_point
from workflows.roles import Role
from workflows.routing import route
from workflows.sla_clock import due_at as advance
from workflows.sla_clock import elapsed
from workflows.states import CaseState, Rating, Track

log = logging.getLogger(__name__)

SIM_EMAIL = "sim.citizen.{n}@sim.demo.test"
UNUSABLE_PASSWORD = "!simulated: no password signs in"  # noqa: S105 - not a hash: never verifies
OPERATOR_EMAIL = "operator@demo.test"
SUPERVISOR_EMAIL = "supervisor@demo.test"
SWEEP_EVERY = timedelta(minutes=1)  # the sweeper's interval in workflows/jobs.py
CLOSE_EVERY = timedelta(minutes=10)  # close_unrated's interval

CATEGORY_WEIGHTS = {"waste": 20, "roads": 18, "urban-order": 15, "street-lighting": 10,
                    "drainage-flooding": 8, "trees": 6, "water-supply": 6, "pollution": 5,
                    "construction-order": 4, "security-order": 2, "public-transport": 2,
                    "other": 4}
DESCRIPTIONS = {
    "waste": ["Rác thải đổ bừa bãi ven đường, bốc mùi hôi.", "Điểm tập kết rác tràn ra lòng đường."],
    "roads": ["Ổ gà lớn giữa đường, xe máy dễ bị ngã.", "Mặt đường bị sụt lún sau mưa."],
    "urban-order": ["Hàng quán lấn chiếm vỉa hè, người đi bộ phải xuống lòng đường.",
                    "Xe ô tô đỗ trên vỉa hè cả ngày."],
    "street-lighting": ["Đèn đường không sáng cả đoạn, buổi tối rất tối.", "Cột đèn bị nghiêng."],
    "drainage-flooding": ["Cống thoát nước bị tắc, nước ngập sau mưa.", "Nắp cống bị vỡ."],
    "trees": ["Cây xanh bị gãy cành, nguy cơ rơi xuống đường.", "Cây đổ chắn ngang đường."],
    "water-supply": ["Đường ống nước bị vỡ, nước chảy tràn.", "Mất nước sinh hoạt hai ngày nay."],
    "pollution": ["Khói bụi từ cơ sở sản xuất gây ô nhiễm.", "Tiếng ồn lớn vào ban đêm."],
    "construction-order": ["Công trình xây dựng để vật liệu lấn chiếm lòng đường."],
    "security-order": ["Tụ tập gây mất trật tự vào ban đêm."],
    "public-transport": ["Nhà chờ xe buýt bị hư hỏng."],
    "other": ["Biển báo giao thông bị che khuất.", "Ghế đá công viên bị hỏng."],
}
REPLIES = ["Đơn vị đã xử lý xong, trả lời người dân.", "Đã khắc phục, mời người dân kiểm tra.",
           "Đã cử tổ công tác xử lý tại hiện trường."]
COMMENTS = {Rating.SATISFIED: ["Cảm ơn, xử lý nhanh.", None, None],
            Rating.ACCEPTED: ["Tạm được.", None],
            Rating.DISSATISFIED: ["Chưa xử lý triệt để, vẫn còn như cũ.", None]}


class SimulationError(Exception):
    """The simulation cannot run here: no demo province, or the period is not empty."""


@dataclass(frozen=True)
class Settings:
    """What to simulate: `months` whole months ending with `until`, `reports` reports."""

    months: int = 8
    reports: int = 439
    seed: int = 2024
    until: str | None = None  # the last simulated month; default: the month before now
    feedback_window_days: int = 7
    tz: str = "Asia/Ho_Chi_Minh"
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    """What the simulation did."""

    months: list[str]
    start: datetime
    end: datetime
    cases: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    job_runs: Counter[str] = field(default_factory=Counter)
    summaries: list[str] = field(default_factory=list)
    discarded_notifications: int = 0


@dataclass
class _Cast:
    """The demo accounts and reference data the simulation acts with."""

    operator: User
    supervisor: User
    staff: dict[int, User]
    citizens: list[User]
    categories: dict[str, Category]
    wards: list[tuple[Area, Any]]
    ward_agency: dict[int, int]
    fallback_agency: int


class Simulation:
    """One run: an event queue ordered by simulated time, handled one event at a time."""

    def __init__(self, session: Session, calendar: WorkingCalendar, storage: Storage,
                 settings: Settings, now: datetime) -> None:
        self.session = session
        self.calendar = calendar
        self.settings = settings
        self.rng = random.Random(settings.seed)  # noqa: S311 - a simulation, not security
        self.window_days = timedelta(days=settings.feedback_window_days)
        last = settings.until or previous_month(now, settings.tz)
        self.months = months_before(last, settings.months)
        self.start = month_window(self.months[0], settings.tz).start
        self.month_end = month_window(self.months[-1], settings.tz).end
        self.end = self.month_end + timedelta(minutes=30)  # the last monthly summary's run
        if self.end > now:
            raise SimulationError(f"{last} has not ended yet; simulate months that are over")
        self.storage = storage
        self.queue: list[tuple[datetime, int, str, int]] = []
        self.seq = 0
        self.result = Result(months=self.months, start=self.start, end=self.end)
        self.case_ids: list[int] = []
        jobs = {job.id: job for job in declared_jobs()}
        self.sweep_job: Job | None = jobs.get("sweep_deadlines")
        self.close_job: Job | None = jobs.get("close_unrated")
        self.planned: set[tuple[str, datetime]] = set()
        self.monthly_job = jobs.get("build_monthly_summary")
        self.config = {**settings.config, "TIMEZONE": settings.tz,
                       "FEEDBACK_WINDOW_DAYS": settings.feedback_window_days}

    # ------------------------------------------------------------------ set-up

    def _check_empty(self) -> None:
        existing = self.session.scalar(sa.select(sa.func.count(Case.id)).where(
            Case.submitted_at >= self.start, Case.submitted_at < self.month_end))
        if existing:
            raise SimulationError(f"{existing} cases already exist in {self.months[0]}.."
                                  f"{self.months[-1]}; the simulation only fills empty months "
                                  f"(choose others with --until)")
        kept = self.session.scalars(sa.select(MonthlySummary.month).where(
            MonthlySummary.month.in_(self.months))).all()
        if kept:
            raise SimulationError(f"monthly summaries already kept for {', '.join(kept)}")

    def _cast(self) -> _Cast:
        def account(email: str) -> User:
            user = self.session.scalar(sa.select(User).where(User.email == email))
            if user is None:
                raise SimulationError(f"no account {email}: load the demo province first "
                                      f"(flask --app wsgi demo)")
            return user

        operator, supervisor = account(OPERATOR_EMAIL), account(SUPERVISOR_EMAIL)
        staff: dict[int, User] = {}
        for user in self.session.scalars(sa.select(User).where(
                User.role == Role.STAFF, User.is_active.is_(True)).order_by(User.id)):
            staff.setdefault(user.agency_id, user)
        categories = {c.code: c for c in self.session.scalars(
            sa.select(Category).where(Category.is_active.is_(True)))}
        wards = [(a, shape(a.boundary)) for a in self.session.scalars(
            sa.select(Area).where(Area.level != "province", Area.is_active.is_(True))
            .order_by(Area.code))]
        if not wards or not staff or not set(CATEGORY_WEIGHTS) <= set(categories):
            raise SimulationError("the demo province is not loaded (flask --app wsgi demo)")
        ward_agency = {a.area_id: a.id for a in self.session.scalars(
            sa.select(Agency).where(Agency.area_id.is_not(None), Agency.is_active.is_(True)))
            if a.id in staff}
        fallback = self.session.scalar(sa.select(Agency.id).where(Agency.code == "SXD"))
        citizens = self._citizens(max(12, self.settings.reports // 3))
        return _Cast(operator, supervisor, staff, citizens, categories, wards, ward_agency,
                     fallback if fallback in staff else next(iter(staff)))

    def _citizens(self, count: int) -> list[User]:
        users = []
        for n in range(1, count + 1):
            email = SIM_EMAIL.format(n=n)
            user = self.session.scalar(sa.select(User).where(User.email == email))
            if user is None:
                # Cannot sign in (no password verifies against this) and gets no messages.
                user = User(email=email, full_name=f"Người dân mô phỏng {n}",
                            password_hash=UNUSABLE_PASSWORD, role=Role.CITIZEN, is_active=False,
                            created_at=self.start, updated_at=self.start)
                self.session.add(user)
            users.append(user)
        self.session.flush()
        return users

    def _store_photo(self) -> list[str]:
        """One small JPEG, processed and stored like an upload, shared by every case.

        Returns the keys this run wrote (none if an earlier run stored the same photo), so a
        failed run removes them again.
        """
        image = Image.new("RGB", (320, 240), (90, 140, 90))
        ImageDraw.Draw(image).rectangle((40, 60, 280, 180), fill=(200, 200, 190))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80)
        processed = process_photo(buffer.getvalue())
        new = [key for key in photo_keys(processed).values() if not self.storage.exists(key)]
        keys = store_processed(self.storage, processed)
        self.photo = StoredPhoto(sha256=processed.sha256, content_type=processed.content_type,
                                 width=processed.width, height=processed.height,
                                 original_key=keys["original"], display_key=keys["display"],
                                 thumb_key=keys["thumbnail"])
        return new

    # ------------------------------------------------------------------ the clock

    def _at(self, when: datetime, kind: str, case_id: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (when, self.seq, kind, case_id))

    def _ctx(self, now: datetime) -> WorkflowContext:
        return WorkflowContext(calendar=self.calendar, now=now,
                               feedback_window=self.window_days, tz=self.settings.tz)

    def _work(self, now: datetime, minutes: float) -> datetime:
        """`minutes` of office time after now (staff act in office hours)."""
        return self.calendar.add(now, timedelta(minutes=max(minutes, 1)))

    def _submission_times(self) -> list[datetime]:
        zone = ZoneInfo(self.settings.tz)
        weights = [1 + 0.08 * i for i in range(len(self.months))]  # use grows month on month
        times = []
        for _ in range(self.settings.reports):
            window = month_window(self.rng.choices(self.months, weights)[0], self.settings.tz)
            days = (window.end - window.start).days
            day = window.start + timedelta(days=self.rng.randrange(days))
            hour = self.rng.choices(range(24), [1, 0, 0, 0, 0, 2, 5, 8, 9, 9, 8, 7, 6, 6, 7, 8,
                                                8, 8, 7, 6, 5, 4, 3, 2])[0]
            local = day.astimezone(zone).replace(hour=hour, minute=self.rng.randrange(60),
                                                 second=self.rng.randrange(60))
            times.append(local.astimezone(UTC))
        return sorted(times)

    def run(self) -> Result:
        """Play every event in time order, then commit once: all of it, or nothing."""
        self._check_empty()
        self.cast = self._cast()
        new_files = self._store_photo()
        try:
            for when in self._submission_times():
                self._at(when, "submit")
            for month in self.months:
                self._at(month_window(month, self.settings.tz).end + timedelta(minutes=30),
                         "monthly")
            while self.queue:
                when, _, kind, case_id = heapq.heappop(self.queue)
                if when > self.end:
                    break
                self._handle(when, kind, case_id)
            removed = self.session.execute(sa.delete(OutboxMessage).where(
                OutboxMessage.case_id.in_(sa.select(Case.id).where(
                    Case.submitted_at >= self.start, Case.submitted_at < self.month_end))))
            self.result.discarded_notifications = removed.rowcount or 0  # type: ignore[attr-defined]
            self.session.commit()
        except BaseException:
            self.session.rollback()
            delete_keys(self.storage, new_files)
            raise
        self.result.cases = len(self.case_ids)
        return self.result

    # ------------------------------------------------------------------ events

    def _handle(self, now: datetime, kind: str, case_id: int) -> None:
        if kind in ("sweep", "close"):
            job = self.sweep_job if kind == "sweep" else self.close_job
            assert job is not None
            job.run(self.session, JobContext(now=now, calendar=self.calendar, config=self.config))
            self.result.job_runs[job.id] += 1
            if kind == "sweep":
                self._plan_sweep(self.session.scalar(self._next_checks()))
            return
        if kind == "monthly":
            if self.monthly_job is not None:
                month = self.monthly_job.run(self.session, JobContext(
                    now=now, calendar=self.calendar, config=self.config))
                self.result.job_runs[self.monthly_job.id] += 1
                if month:
                    self.result.summaries.append(month)
            return
        if kind == "submit":
            self._submit(now)
            return
        case = self.session.get(Case, case_id)
        assert case is not None
        handler: Callable[[Case, datetime], None] = getattr(self, f"_on_{kind}")
        try:
            handler(case, now)
        except (WorkflowError, FeedbackRefused) as exc:
            # The case moved on meanwhile (a job closed it, say): the person gives up.
            self.result.skipped += 1
            log.debug("simulated %s on case %s skipped: %s", kind, case_id, exc)
        self._after_action(case)

    # The periodic jobs run at the instants their own schedule would find work: the sweeper
    # at the first minute after a clock's next check falls due, close_unrated at the first
    # 10-minute mark after a feedback window ends. Idle runs would change nothing.

    def _tick(self, kind: str, when: datetime, every: timedelta) -> None:
        steps = -((self.start - when) // every)  # ceil: the first run at or after `when`
        tick = self.start + steps * every
        if (kind, tick) not in self.planned:
            self.planned.add((kind, tick))
            self._at(tick, kind)

    def _next_checks(self, case_id: int | None = None) -> sa.Select[Any]:
        stmt = sa.select(sa.func.min(CaseClock.next_check_at)).where(
            CaseClock.stopped_at.is_(None), CaseClock.paused_at.is_(None))
        return stmt if case_id is None else stmt.where(CaseClock.case_id == case_id)

    def _plan_sweep(self, when: datetime | None) -> None:
        if self.sweep_job is not None and when is not None:
            self._tick("sweep", when, SWEEP_EVERY)

    def _after_action(self, case: Case) -> None:
        """Plan the job runs this case now needs."""
        self._plan_sweep(self.session.scalar(self._next_checks(case.id)))
        if self.close_job is not None and case.state == CaseState.RESOLVED and case.resolved_at:
            # The job closes once now - resolved_at > window: strictly after the window.
            self._tick("close", case.resolved_at + self.window_days + timedelta(microseconds=1),
                       CLOSE_EVERY)

    def _act(self, case: Case, action: Action, user: User | None, now: datetime,
             **fields: Any) -> None:
        actor = Actor(user) if user is not None else Actor.system()
        photos = fields.pop("photos", None)
        perform_action(self.session, case, action, actor, fields, self._ctx(now), photos=photos)
        self.result.actions[action.value] += 1

    def _submit(self, now: datetime) -> None:
        rng, cast = self.rng, self.cast
        code = rng.choices(list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values()))[0]
        category = cast.categories[code]
        ward, polygon = rng.choice(cast.wards)
        lon0, lat0, lon1, lat1 = polygon.bounds
        while True:
            lon, lat = rng.uniform(lon0, lon1), rng.uniform(lat0, lat1)
            if polygon.contains(Point(lon, lat)):
                break
        area = place_point(self.session, lat, lon)
        rule = route(self.session, category.id, area.id if area else None)
        citizen = rng.choice(cast.citizens)
        report = NewReport(category=category, description=rng.choice(DESCRIPTIONS[code]),
                           lat=round(lat, 6), lon=round(lon, 6),
                           area_id=area.id if area else None, is_public=rng.random() < 0.85,
                           location_source="app")
        case = submit_report(self.session, report, Actor(citizen), self._ctx(now),
                             reporter=citizen, photos=[self.photo],
                             routed_agency_id=rule.agency_id if rule else None,
                             routing_rule_id=rule.id if rule else None)
        self.case_ids.append(case.id)
        self.result.actions["submit"] += 1
        self._after_action(case)
        roll = rng.random()
        if roll < 0.08 or case.state == CaseState.SUBMITTED:
            # The operator looks at it: spam and duplicates go, unrouted ones get an agency.
            self._at(self._work(now, rng.uniform(10, 240)), "triage", case.id)
        else:
            self._at(self._accept_time(case, now), "accept", case.id)

    def _accept_time(self, case: Case, now: datetime) -> datetime:
        allowed = self._allowed(case, "accept")
        share = self.rng.uniform(0.05, 0.9) if self.rng.random() < 0.88 else \
            self.rng.uniform(1.05, 2.0)
        return self._clock_time(case, now, allowed * share)

    def _allowed(self, case: Case, step: str) -> float:
        clock = self.session.scalar(sa.select(CaseClock).where(
            CaseClock.case_id == case.id, CaseClock.step == step)
            .order_by(CaseClock.id.desc()).limit(1))
        return float(clock.allowed_minutes) if clock is not None else 450.0

    def _clock_time(self, case: Case, start: datetime, minutes: float) -> datetime:
        """`minutes` after start on the case's track (office time, or clock time if immediate)."""
        return advance(self.calendar, Track(case.track), start,
                       timedelta(minutes=max(minutes, 5)))

    def _on_triage(self, case: Case, now: datetime) -> None:
        rng, operator = self.rng, self.cast.operator
        roll = rng.random()
        if roll < 0.25:
            reason = rng.choice(["spam", "spam", "abusive", "out_of_scope"])
            self._act(case, Action.REJECT, operator, now, reason=reason,
                      note="Phản ánh không thuộc phạm vi xử lý.")
            return
        if roll < 0.45:
            original = self.session.scalar(sa.select(Case).where(
                Case.id != case.id, Case.category_id == case.category_id,
                Case.area_id == case.area_id, Case.submitted_at < case.submitted_at,
                Case.state.in_([CaseState.ASSIGNED.value, CaseState.IN_PROGRESS.value]))
                .order_by(Case.submitted_at.desc()).limit(1))
            if original is not None:
                self._act(case, Action.REJECT, operator, now, reason="duplicate",
                          duplicate_of=original.id, note="Trùng với phản ánh đã tiếp nhận.")
                return
        if case.state == CaseState.ASSIGNED:
            self._at(self._accept_time(case, now), "accept", case.id)
            return
        agency = self.cast.ward_agency.get(case.area_id or 0, self.cast.fallback_agency)
        self._act(case, Action.ASSIGN, operator, now, agency_id=agency,
                  note="Chuyển đơn vị xử lý theo địa bàn.")
        self._at(self._accept_time(case, now), "accept", case.id)

    def _staff(self, case: Case) -> User:
        return self.cast.staff[case.agency_id or self.cast.fallback_agency]

    def _on_accept(self, case: Case, now: datetime) -> None:
        self._act(case, Action.ACCEPT, self._staff(case), now)
        self._plan_work(case, now, first=True)

    def _plan_work(self, case: Case, now: datetime, *, first: bool) -> None:
        """What the agency does next: ask the citizen, ask for more time, or resolve."""
        rng = self.rng
        if first and rng.random() < 0.1:
            self._at(self._work(now, rng.uniform(30, 240)), "request_info", case.id)
            return
        if first and rng.random() < 0.1 and case.resolve_original_due_at is not None:
            left = elapsed(self.calendar, Track(case.track), now, case.resolve_original_due_at)
            self._at(self._clock_time(case, now, left.total_seconds() / 60 * 0.6),
                     "request_extension", case.id)
            return
        self._at(self._resolve_time(case, now), "resolve", case.id)

    def _resolve_time(self, case: Case, now: datetime) -> datetime:
        rng = self.rng
        due = case.resolve_due_at or now
        left = elapsed(self.calendar, Track(case.track), now, due).total_seconds() / 60
        if rng.random() < 0.85 and left > 10:
            return self._clock_time(case, now, left * rng.uniform(0.1, 0.95))
        # A missed deadline: done some time after it.
        late = self._allowed(case, "resolve") * rng.uniform(0.05, 0.6)
        return self._clock_time(case, max(due, now), late)

    def _on_request_info(self, case: Case, now: datetime) -> None:
        self._act(case, Action.REQUEST_INFO, self._staff(case), now,
                  note="Đề nghị người dân cho biết vị trí cụ thể hơn.")
        self._at(now + timedelta(hours=self.rng.uniform(2, 48)), "provide_info", case.id)

    def _on_provide_info(self, case: Case, now: datetime) -> None:
        assert case.reporter is not None
        self._act(case, Action.PROVIDE_INFO, case.reporter, now,
                  note="Ở gần số nhà 25, phía bên trái đường.")
        self._plan_work(case, now, first=False)

    def _on_request_extension(self, case: Case, now: datetime) -> None:
        original = case.resolve_due_at or now
        wanted = self.calendar.add(max(original, now), timedelta(minutes=450 * self.rng.randint(2, 4)))
        self._act(case, Action.REQUEST_EXTENSION, self._staff(case), now,
                  reason="Cần thêm thời gian để phối hợp với đơn vị liên quan.", due_at=wanted)
        self._at(self._work(now, self.rng.uniform(30, 240)), "extend", case.id)

    def _on_extend(self, case: Case, now: datetime) -> None:
        self._act(case, Action.EXTEND, self.cast.supervisor, now, decision="grant",
                  note="Đồng ý gia hạn.")
        self._at(self._resolve_time(case, now), "resolve", case.id)

    def _on_resolve(self, case: Case, now: datetime) -> None:
        category = self.session.get(Category, case.category_id)
        photos = [self.photo] if category is not None and category.requires_after_photo else None
        self._act(case, Action.RESOLVE, self._staff(case), now, note=self.rng.choice(REPLIES),
                  photos=photos)
        # Most citizens rate a first result; after a reopen, half no longer bother.
        if self.rng.random() < (0.82 if case.resolution_round == 1 else 0.5):
            self._at(now + timedelta(hours=self.rng.uniform(1, 24 * 6)), "rate", case.id)

    def _on_rate(self, case: Case, now: datetime) -> None:
        assert case.reporter is not None
        again = case.resolution_round > 1
        weights = [60, 28, 12] if again else [63, 29, 8]
        rating = self.rng.choices(list(Rating), weights)[0]
        result = give_feedback(self.session, case, case.reporter, rating,
                               self.rng.choice(COMMENTS[rating]), self._ctx(now))
        self.result.actions[f"rate_{rating.value}"] += 1
        if result.reopened:
            self._at(self._resolve_time(case, now), "resolve", case.id)


def simulate(session: Session, calendar: WorkingCalendar, storage: Storage, settings: Settings,
             now: datetime) -> Result:
    """Run the simulation (one transaction: committed at the end, or rolled back) and say
    what it did."""
    result = Simulation(session, calendar, storage, settings, now).run()
    log.info("simulated %s reports over %s..%s: %s", result.cases, result.months[0],
             result.months[-1], dict(result.actions))
    return result
