"""A kept monthly summary as CSV (for spreadsheets) and as a printable HTML page with charts.

CSV: UTF-8 with a byte-order mark, so Excel opens Vietnamese text intact when the file is
double-clicked; comma-separated, one header row, then the province total, a row per agency
and a row per category. Rates are fractions with a dot (0.9512), hours decimal hours.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template
from markupsafe import Markup

from reports_app.stats.charts import Series, bar_chart, line_chart

BOM = "\ufeff"

TEXT: dict[str, dict[str, str]] = {
    "title": {"vi": "Báo cáo tổng hợp phản ánh hiện trường tháng {month}",
              "en": "Citizen field reports: summary for {month}"},
    "scope": {"vi": "Toàn tỉnh", "en": "Whole province"},
    "cutoff": {"vi": "Số liệu tính đến", "en": "Figures as of"},
    "window": {"vi": "Phản ánh gửi từ {start} đến trước {end}",
               "en": "Reports submitted from {start} until before {end}"},
    "totals": {"vi": "Số liệu chung", "en": "Totals"},
    "by_agency": {"vi": "Theo đơn vị xử lý", "en": "By agency"},
    "by_category": {"vi": "Theo lĩnh vực", "en": "By category"},
    "trend": {"vi": "Diễn biến các tháng", "en": "Trend over the months"},
    "chart_counts": {"vi": "Tiếp nhận và đã xử lý", "en": "Received and handled"},
    "chart_rates": {"vi": "Tỷ lệ đúng hạn và hài lòng", "en": "On-time and satisfaction rates"},
    "median": {"vi": "Thời gian xử lý (giờ làm việc): trung vị {median}, 90% trong {p90}",
               "en": "Time to resolve (working hours): median {median}, 90% within {p90}"},
    "none": {"vi": "—", "en": "—"},
    "footer": {"vi": "Tỷ lệ hài lòng = (hài lòng + chấp nhận) / số đã đánh giá. Phản ánh rác, "
                     "xúc phạm hoặc trùng lặp không được tính là đã tiếp nhận.",
               "en": "Satisfaction = (satisfied + accepted) / rated. Spam, abusive and "
                     "duplicate reports are not counted as received."},
}

COLUMNS: dict[str, dict[str, str]] = {
    "section": {"vi": "Nhóm", "en": "Section"},
    "code": {"vi": "Mã", "en": "Code"},
    "name": {"vi": "Tên", "en": "Name"},
    "received": {"vi": "Tiếp nhận", "en": "Received"},
    "handled": {"vi": "Đã xử lý", "en": "Handled"},
    "handled_on_time": {"vi": "Đúng hạn", "en": "On time"},
    "handled_late_with_extension": {"vi": "Trễ hạn có gia hạn", "en": "Late with extension"},
    "handled_late": {"vi": "Trễ hạn", "en": "Late"},
    "in_progress": {"vi": "Đang xử lý", "en": "In progress"},
    "open_overdue": {"vi": "Quá hạn chưa xử lý", "en": "Open and overdue"},
    "rejected": {"vi": "Từ chối", "en": "Rejected"},
    "excluded": {"vi": "Rác, trùng lặp", "en": "Spam, duplicates"},
    "rated": {"vi": "Đã đánh giá", "en": "Rated"},
    "satisfied": {"vi": "Hài lòng", "en": "Satisfied"},
    "accepted": {"vi": "Chấp nhận", "en": "Accepted"},
    "dissatisfied": {"vi": "Không hài lòng", "en": "Dissatisfied"},
    "handled_rate": {"vi": "Tỷ lệ đã xử lý", "en": "Handled rate"},
    "on_time_rate": {"vi": "Tỷ lệ đúng hạn", "en": "On-time rate"},
    "rating_rate": {"vi": "Tỷ lệ đánh giá", "en": "Rating rate"},
    "satisfaction_rate": {"vi": "Tỷ lệ hài lòng", "en": "Satisfaction rate"},
    "median_hours_to_resolve": {"vi": "Trung vị giờ xử lý", "en": "Median hours to resolve"},
    "p90_hours_to_resolve": {"vi": "Giờ xử lý (90%)", "en": "90th percentile hours"},
}
SECTIONS = {"province": {"vi": "Toàn tỉnh", "en": "Province"},
            "agency": {"vi": "Đơn vị", "en": "Agency"},
            "category": {"vi": "Lĩnh vực", "en": "Category"}}
FIGURE_COLUMNS = [c for c in COLUMNS if c not in ("section", "code", "name")]
MONTH_NAMES_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                  "Dec"]


def month_label(month: str, lang: str) -> str:
    """`10/2026` in Vietnamese, `Oct 2026` in English."""
    year, number = month.split("-")
    return f"{number}/{year}" if lang == "vi" else f"{MONTH_NAMES_EN[int(number) - 1]} {year}"


def monthly_csv(data: dict[str, Any], lang: str) -> str:
    """The CSV text (BOM first): the total, then one row per agency and per category."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([COLUMNS[c][lang] for c in COLUMNS])
    total = {"code": "", "name": TEXT["scope"][lang], **data["figures"]}
    writer.writerow(_csv_row("province", total, lang))
    for section in ("agency", "category"):
        for row in data["breakdowns"].get(section, []):
            named = {**row, "name": row[f"name_{lang}"], "code": row["code"] or ""}
            writer.writerow(_csv_row(section, named, lang))
    return out.getvalue()


def _csv_row(section: str, row: dict[str, Any], lang: str) -> list[Any]:
    values: list[Any] = [SECTIONS[section][lang], row["code"], row["name"]]
    values += ["" if row.get(c) is None else row.get(c) for c in FIGURE_COLUMNS]
    return values


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def trend_charts(trend: Sequence[dict[str, Any]], lang: str) -> list[Markup]:
    """The two trend charts: counts per month, and the on-time and satisfaction rates."""
    labels = [month_label(p["month"], lang) for p in trend]
    counts = bar_chart(TEXT["chart_counts"][lang], labels, [
        Series(COLUMNS["received"][lang], [p["received"] for p in trend], "#4e79a7"),
        Series(COLUMNS["handled"][lang], [p["handled"] for p in trend], "#59a14f")])
    rates = line_chart(TEXT["chart_rates"][lang], labels, [
        Series(COLUMNS["on_time_rate"][lang], [_percent(p["on_time_rate"]) for p in trend],
               "#f28e2b"),
        Series(COLUMNS["satisfaction_rate"][lang],
               [_percent(p["satisfaction_rate"]) for p in trend], "#e15759")])
    return [counts, rates]


def monthly_html(data: dict[str, Any], lang: str) -> str:
    """The printable page: headline, totals, a table per agency and per category, the trend
    (the kept months up to this one, this one included, so there is always a point)."""
    figures = data["figures"]

    def hours(value: float | None) -> str:
        return TEXT["none"][lang] if value is None else f"{value:g}"

    zone = ZoneInfo(data.get("timezone") or "Asia/Ho_Chi_Minh")

    def local(text: str, with_time: bool = False) -> str:
        instant = datetime.fromisoformat(text).astimezone(zone)
        return instant.strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")

    return render_template(
        "stats/monthly.html", lang=lang, data=data, figures=figures, text=TEXT,
        columns=COLUMNS, title=TEXT["title"][lang].format(month=month_label(data["month"], lang)),
        headline=data["headline"][lang], cutoff=local(data["cutoff_at"], with_time=True),
        window=TEXT["window"][lang].format(start=local(data["window"]["from"]),
                                           end=local(data["window"]["to"])),
        median=TEXT["median"][lang].format(median=hours(figures["median_hours_to_resolve"]),
                                           p90=hours(figures["p90_hours_to_resolve"])),
        charts=trend_charts(data["trend"], lang),
        percent=lambda rate: TEXT["none"][lang] if rate is None else f"{rate * 100:.1f}%")
