"""Query arguments and response bodies of the figures API."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from reports_app.common.schemas import InputSchema
from workflows.stats import BREAKDOWNS, COUNTS

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Instant(fields.Field):
    """A date (`2026-10-01`: midnight in the province's time zone) or an ISO 8601 instant
    with its offset (`2026-10-01T00:00:00+07:00`)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise ma.ValidationError("A date (YYYY-MM-DD) or a date and time with an offset.")
        text = value.strip()
        try:
            if _DATE.match(text):
                return date.fromisoformat(text)
            instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ma.ValidationError("Not a valid date or date and time.") from None
        if instant.tzinfo is None:
            raise ma.ValidationError("A date and time needs its offset, e.g. +07:00.")
        return instant


class BreakdownList(fields.Field):
    """`agency,category,area`, any subset; empty for none."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise ma.ValidationError("A comma-separated list.")
        names = [part.strip() for part in value.split(",") if part.strip()]
        unknown = sorted(set(names) - set(BREAKDOWNS))
        if unknown:
            raise ma.ValidationError(f"Unknown breakdown: {', '.join(unknown)}; use "
                                     f"{', '.join(BREAKDOWNS)}.")
        return [name for name in BREAKDOWNS if name in names]


class WindowArgs(InputSchema):
    """The window of submission times, [from, to)."""

    class Meta:
        unknown = ma.EXCLUDE

    from_ = Instant(data_key="from", metadata={
        "description": "start (inclusive): a date (midnight, province time) or an instant; "
                       "default: the 1 January before `to`", "example": "2026-01-01"})
    to = Instant(metadata={
        "description": "end (exclusive): a date or an instant; default: now. "
                       "from=2026-10-01&to=2026-11-01 is October", "example": "2026-11-01"})


class SummaryArgs(WindowArgs):
    """Window, filters and the breakdowns wanted."""

    agency = fields.Integer(validate=validate.Range(min=1),
                            metadata={"description": "only the cases this agency holds"})
    category = fields.Integer(validate=validate.Range(min=1))
    area = fields.Integer(validate=validate.Range(min=1),
                          metadata={"description": "an area and every area inside it"})
    breakdown = BreakdownList(load_default=list(BREAKDOWNS), metadata={
        "description": "comma-separated: agency, category, area (default all; empty for none)",
        "example": "agency,category"})


class MonthlyArgs(InputSchema):
    """Format and language of a monthly summary."""

    class Meta:
        unknown = ma.EXCLUDE

    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "html"]))
    lang = fields.String(load_default="vi", validate=validate.OneOf(["vi", "en"]),
                         metadata={"description": "language of the CSV headings and the page"})


def _count_fields() -> dict[str, fields.Field]:
    return {name: fields.Integer() for name in COUNTS}


_RATE_DOC = "fraction to 4 decimals; null when the denominator is 0"
_RATES = {name: fields.Float(allow_none=True, metadata={"description": _RATE_DOC})
          for name in ("handled_rate", "on_time_rate", "rating_rate", "satisfaction_rate")}
_HOURS = {name: fields.Float(allow_none=True, metadata={
    "description": "working hours (office calendar), submission to latest resolution"})
    for name in ("median_hours_to_resolve", "p90_hours_to_resolve")}

FiguresSchema = ma.Schema.from_dict({**_count_fields(), **_RATES, **_HOURS}, name="Figures")
BreakdownRowSchema = ma.Schema.from_dict({
    "id": fields.Integer(allow_none=True, metadata={"description": "null: none (e.g. a case "
                                                                  "not yet assigned)"}),
    "code": fields.String(allow_none=True), "name_vi": fields.String(),
    "name_en": fields.String(), **_count_fields(), **_RATES}, name="BreakdownRow")
TextSchema = ma.Schema.from_dict({"vi": fields.String(), "en": fields.String()}, name="Text")
WindowSchema = ma.Schema.from_dict({
    "from": fields.String(metadata={"format": "date-time"}),
    "to": fields.String(metadata={"format": "date-time"})}, name="Window")
FiltersSchema = ma.Schema.from_dict({
    "agency": fields.Integer(allow_none=True), "category": fields.Integer(allow_none=True),
    "area": fields.Integer(allow_none=True)}, name="StatsFilters")
BreakdownsSchema = ma.Schema.from_dict({
    name: fields.List(fields.Nested(BreakdownRowSchema)) for name in BREAKDOWNS},
    name="Breakdowns")


class SummarySchema(ma.Schema):
    """The figures of a window (DESIGN.md, "The figures"), with breakdowns."""

    schema_version = fields.Integer()
    window = fields.Nested(WindowSchema)
    as_of = fields.String(metadata={"format": "date-time",
                                    "description": "the instant the figures describe"})
    filters = fields.Nested(FiltersSchema)
    figures = fields.Nested(FiguresSchema)
    headline = fields.Nested(TextSchema)
    breakdowns = fields.Nested(BreakdownsSchema)


class PublicSummarySchema(ma.Schema):
    """Province totals for anyone: no filters, no breakdowns."""

    window = fields.Nested(WindowSchema)
    as_of = fields.String(metadata={"format": "date-time"})
    figures = fields.Nested(FiguresSchema)
    headline = fields.Nested(TextSchema)


TrendPointSchema = ma.Schema.from_dict({
    "month": fields.String(), "received": fields.Integer(), "handled": fields.Integer(),
    "handled_on_time": fields.Integer(), "handled_rate": fields.Float(allow_none=True),
    "on_time_rate": fields.Float(allow_none=True),
    "satisfaction_rate": fields.Float(allow_none=True),
    "median_hours_to_resolve": fields.Float(allow_none=True)}, name="TrendPoint")


class MonthlySummarySchema(SummarySchema):
    """A kept monthly summary, with the trend of the kept months before it."""

    month = fields.String(metadata={"example": "2026-10"})
    scope = fields.String()
    timezone = fields.String()
    cutoff_at = fields.DateTime(metadata={"description": "when it was built: the figures are "
                                                         "the cases as they stood then"})
    computed_at = fields.DateTime()
    trend = fields.List(fields.Nested(TrendPointSchema),
                        metadata={"description": "up to 6 kept months ending with this one"})
