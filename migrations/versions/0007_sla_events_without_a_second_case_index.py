"""SLA events: drop ix_sla_events_case_id, which the unique key already serves

Revision ID: 0007
Revises: 0006d
Create Date: 2026-12-01 16:30:00

uq_sla_events_case_id_step_kind_due_at starts with case_id, so it answers every lookup by
case (a case's events, the cascade when a case is deleted) as the single-column index did. The
SLA sweep writes thousands of events at once after an outage; each one updated five indexes,
now four.
"""
from alembic import op


revision = '0007'
down_revision = '0006d'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_sla_events_case_id', table_name='sla_events')


def downgrade():
    op.create_index('ix_sla_events_case_id', 'sla_events', ['case_id'])
