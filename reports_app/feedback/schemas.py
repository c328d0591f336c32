"""Feedback request and response bodies."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from reports_app.common.schemas import StrictSchema, multiline
from workflows.states import STATE_LABELS, CaseState, Rating

COMMENT_MAX = 2000


class FeedbackSchema(StrictSchema):
    """The reporter's rating of the result, with an optional comment (stored NFC)."""

    rating = fields.String(required=True, validate=validate.OneOf([r.value for r in Rating]),
                           metadata={"description": "satisfied (hài lòng), accepted (chấp nhận) "
                                                    "or dissatisfied (không hài lòng)"})
    comment = multiline(max_len=COMMENT_MAX, allow_none=True,
                        metadata={"description": "What the citizen says about the result; "
                                                 "shown to the agency when the case reopens"})


class StoredFeedbackSchema(ma.Schema):
    """A rating as kept: one per case and resolution round."""

    id = fields.Integer()
    resolution_round = fields.Integer()
    rating = fields.String()
    comment = fields.String(allow_none=True)
    created_at = fields.DateTime()


class RatedCaseSchema(ma.Schema):
    """The case after the rating: closed, or reopened for the agency."""

    id = fields.Integer()
    tracking_code = fields.String()
    state = fields.String()
    state_label = fields.Function(lambda case: dict(STATE_LABELS[CaseState(case.state)]))
    version = fields.Integer()
    latest_rating = fields.String(allow_none=True)


class FeedbackResultSchema(ma.Schema):
    """What a rating did."""

    feedback = fields.Nested(StoredFeedbackSchema)
    case = fields.Nested(RatedCaseSchema)
    reopened = fields.Boolean(metadata={"description": "true: dissatisfied within the feedback "
                                                       "window, the agency works on it again"})
