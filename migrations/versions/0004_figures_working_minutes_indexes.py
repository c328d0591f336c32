"""figures: working minutes to resolve, a covering index for the figures, close-unrated index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:28:02.691746

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# What the figures read besides submitted_at (workflows/stats.py): on PostgreSQL the index
# carries them, so a summary is an index-only scan that never touches the wide case rows.
STATS_COLUMNS = ['state', 'reject_reason', 'agency_id', 'category_id', 'area_id', 'due_at',
                 'resolved_at', 'resolve_due_at', 'resolve_original_due_at', 'latest_rating',
                 'resolve_working_minutes']


def _calendar():
    """The deployment's working calendar when run by `flask db upgrade`, else the default."""
    from workflows.calendar import WorkingCalendar, calendar_from_config

    try:
        from flask import current_app

        return calendar_from_config(current_app.config)
    except RuntimeError:  # no application context: plain alembic
        return WorkingCalendar()


def _backfill_working_minutes():
    """Cases resolved before this revision get their working minutes like new ones do."""
    from workflows.stats import working_minutes

    bind = op.get_bind()
    cases = sa.table('cases', sa.column('id', sa.Integer), sa.column('state', sa.String),
                     sa.column('submitted_at', sa.DateTime(timezone=True)),
                     sa.column('resolved_at', sa.DateTime(timezone=True)),
                     sa.column('resolve_working_minutes', sa.Integer))
    rows = bind.execute(sa.select(cases.c.id, cases.c.submitted_at, cases.c.resolved_at)
                        .where(cases.c.resolved_at.is_not(None))).all()
    if not rows:
        return
    calendar = _calendar()
    from datetime import timezone

    def aware(value):
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)

    for case_id, submitted_at, resolved_at in rows:
        bind.execute(sa.update(cases).where(cases.c.id == case_id).values(
            resolve_working_minutes=working_minutes(calendar, aware(submitted_at),
                                                    aware(resolved_at))))


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolve_working_minutes', sa.Integer(), nullable=True))
        batch_op.create_index('ix_cases_state_resolved', ['state', 'resolved_at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_cases_submitted_at', table_name='cases')
        op.create_index('ix_cases_submitted_at', 'cases', ['submitted_at'], unique=False,
                        postgresql_include=STATS_COLUMNS)
    _backfill_working_minutes()


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_cases_submitted_at', table_name='cases')
        op.create_index('ix_cases_submitted_at', 'cases', ['submitted_at'], unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_state_resolved')
        batch_op.drop_column('resolve_working_minutes')
