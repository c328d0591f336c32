"""`flask simulate`: a demo history made by the real workflow on a simulated clock."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
import time_machine

from reports_app.extensions import db
from reports_app.models import Case, CaseEvent, MonthlySummary, OutboxMessage, User
from reports_app.workflow_context import app_calendar
from tests.conftest import truncate_all
from tests.factories import auth_headers
from tests.stats import timeline
from tests.stats.conftest import local
from workflows.monthly import month_window
from workflows.stats import compute_summary

TODAY = local(2026, 11, 15, 10)
ARGS = ["simulate", "--months", "2", "--reports", "40", "--seed", "3"]


def _simulate(app, *args: str):
    with time_machine.travel(TODAY, tick=False):
        result = app.test_cli_runner().invoke(args=[*ARGS, *args])
    db.session.expire_all()
    return result


@pytest.fixture
def simulated(app, demo):
    """September and October 2026 filled with 40 reports."""
    result = _simulate(app)
    assert result.exit_code == 0, result.output
    return result


def _supervisor() -> dict[str, str]:
    user = db.session.scalar(sa.select(User).where(User.email == "supervisor@demo.test"))
    return auth_headers(user)


def test_after_demo_and_simulate_the_monthly_page_has_charts_and_the_headline(simulated,
                                                                            client):
    """The printable October page: headline, agency table, two inline SVG charts."""
    with time_machine.travel(TODAY, tick=False):
        page = client.get("/api/v1/stats/monthly/2026-10?format=html", headers=_supervisor())
        kept = db.session.scalar(sa.select(MonthlySummary).where(MonthlySummary.month == "2026-10"))
    assert page.status_code == 200
    text = page.data.decode()
    assert kept.data["headline"]["vi"] in text
    assert kept.data["headline"]["vi"].startswith("Đã xử lý ")
    assert text.count("<svg") == 2
    assert "<rect" in text
    assert "<polyline" in text
    assert "Sở Xây dựng" in text or "Ủy ban nhân dân" in text
    assert "2026-09" in simulated.output
    assert "2026-10" in simulated.output


def test_after_demo_and_simulate_the_csv_opens_with_vietnamese_intact(simulated, client):
    """BOM first; the csv module reads back the Vietnamese agency and category names."""
    with time_machine.travel(TODAY, tick=False):
        response = client.get("/api/v1/stats/monthly/2026-10?format=csv", headers=_supervisor())
    assert response.data[:3] == b"\xef\xbb\xbf"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    names = {row[2] for row in rows[1:]}
    assert "Toàn tỉnh" in names
    assert any(name.startswith(("Sở ", "Ủy ban nhân dân", "Công ty")) for name in names)
    assert any("Môi trường" in name or "Giao thông" in name or "đường" in name.lower()
               for name in names)
    assert all(len(row) == len(rows[0]) for row in rows)


def test_simulated_figures_come_from_workflow_actions(simulated):
    """Every simulated case has its timeline; the figures equal the count over it."""
    cases = db.session.scalar(sa.select(sa.func.count(Case.id)))
    submits = db.session.scalar(sa.select(sa.func.count(CaseEvent.id)).where(
        CaseEvent.action == "submit"))
    assert cases == submits == 40
    actions = set(db.session.scalars(sa.select(CaseEvent.action).distinct()))
    assert {"submit", "accept", "resolve", "close"} <= actions
    end = month_window("2026-10", "Asia/Ho_Chi_Minh").end
    cutoff = local(2026, 11, 1, 0, 30)
    window = month_window("2026-09", "Asia/Ho_Chi_Minh")
    facts = timeline.select(timeline.replay(app_calendar(), cutoff), window.start, end)
    whole = compute_summary(db.session, type(window)(window.start, end), cutoff)
    assert whole.figures.counts == timeline.count(facts, cutoff)
    assert whole.figures.counts["handled"] > 0


def test_each_kept_month_is_the_timeline_as_it_stood_at_its_cut_off(simulated):
    """September was kept at 00:30 on Oct 1 of the simulated clock, before October happened."""
    row = db.session.scalar(sa.select(MonthlySummary).where(MonthlySummary.month == "2026-09"))
    assert row.cutoff_at == local(2026, 10, 1, 0, 30)
    window = month_window("2026-09", "Asia/Ho_Chi_Minh")
    facts = timeline.select(timeline.replay(app_calendar(), row.cutoff_at), window.start,
                            window.end)
    counts = timeline.count(facts, row.cutoff_at)
    assert {k: row.data["figures"][k] for k in counts} == counts


def test_the_simulation_discards_the_notifications_of_its_made_up_past(simulated):
    """Nobody is told about events that never happened."""
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0
    assert "notifications of the simulated past discarded" in simulated.output


def test_the_same_seed_gives_the_same_history(app, demo, simulated):
    """Deterministic: the kept summaries of a second run on a fresh database are the same."""
    def figures() -> dict[str, dict]:
        return {r.month: r.data["figures"] for r in db.session.scalars(sa.select(MonthlySummary))}

    first = figures()
    truncate_all()
    from reports_app.demo.loader import load_demo

    load_demo()
    assert _simulate(app).exit_code == 0
    assert figures() == first


def test_simulation_fills_only_empty_months(simulated, app):
    """A second run over the same months is refused and changes nothing."""
    result = _simulate(app)
    assert result.exit_code != 0
    assert "already exist" in result.output
    assert db.session.scalar(sa.select(sa.func.count(Case.id))) == 40


def test_simulation_needs_the_demo_province(app):
    """Without `flask demo` it says what to do."""
    result = _simulate(app)
    assert result.exit_code != 0
    assert "flask --app wsgi demo" in result.output


def test_simulation_refuses_months_that_have_not_ended(app, demo):
    """The simulated clock never runs past the real one."""
    result = _simulate(app, "--until", "2026-11")
    assert result.exit_code != 0
    assert "has not ended yet" in result.output


def test_a_failed_simulation_leaves_nothing_behind(app, demo, monkeypatch):
    """One transaction: a crash half-way keeps no case, no account and no new file."""
    from pathlib import Path

    from workflows.simulate import Simulation

    def crash(self, case, now):  # noqa: ANN001, ANN202
        raise RuntimeError("power cut")

    media = Path(app.config["MEDIA_ROOT"])
    before = {p for p in media.rglob("*") if p.is_file()} if media.exists() else set()
    monkeypatch.setattr(Simulation, "_on_resolve", crash)
    result = _simulate(app)
    assert isinstance(result.exception, RuntimeError)
    assert db.session.scalar(sa.select(sa.func.count(Case.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(
        User.email.like("sim.citizen.%"))) == 0
    after = {p for p in media.rglob("*") if p.is_file()} if media.exists() else set()
    assert after == before
