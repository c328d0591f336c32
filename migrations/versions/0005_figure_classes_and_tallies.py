"""figures: each case's figure class, running tallies per day and month, indexes for the rest

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 08:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

FIGURE_COLUMNS = ['figure_class', 'agency_id', 'category_id', 'area_id', 'due_at',
                  'resolve_working_minutes']
OLD_STATS_COLUMNS = ['state', 'reject_reason', 'agency_id', 'category_id', 'area_id', 'due_at',
                     'resolved_at', 'resolve_due_at', 'resolve_original_due_at', 'latest_rating',
                     'resolve_working_minutes']
COUNTERS = ['handled', 'handled_on_time', 'handled_late_with_extension', 'in_progress',
            'rejected', 'excluded', 'satisfied', 'accepted', 'dissatisfied']
ALL_ZERO = ' AND '.join(f'{name} = 0' for name in COUNTERS)


def _tally_columns():
    return [sa.Column('grain', sa.String(length=5), nullable=False),
            sa.Column('period', sa.Date(), nullable=False),
            sa.Column('dimension', sa.String(length=10), nullable=False),
            sa.Column('key_id', sa.Integer(), nullable=False),
            *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS)]


def _zone():
    """The deployment's zone when run by `flask db upgrade`, else the default."""
    from zoneinfo import ZoneInfo

    from workflows.calendar import DEFAULT_TZ

    try:
        from flask import current_app

        return ZoneInfo(current_app.config.get('TIMEZONE') or DEFAULT_TZ)
    except RuntimeError:  # no application context: plain alembic
        return ZoneInfo(DEFAULT_TZ)


def _backfill_classes():
    """Existing cases get the class the flush hook gives new ones (workflows/counting.py)."""
    from workflows.counting import figure_class

    bind = op.get_bind()
    cases = sa.table('cases', sa.column('id', sa.Integer), sa.column('state', sa.String),
                     sa.column('reject_reason', sa.String),
                     sa.column('resolved_at', sa.DateTime(timezone=True)),
                     sa.column('resolve_original_due_at', sa.DateTime(timezone=True)),
                     sa.column('resolve_due_at', sa.DateTime(timezone=True)),
                     sa.column('latest_rating', sa.String), sa.column('figure_class', sa.String))
    from datetime import timezone

    def aware(value):
        return value if value is None or value.tzinfo else value.replace(tzinfo=timezone.utc)

    last = 0
    while True:
        rows = bind.execute(sa.select(cases.c.id, cases.c.state, cases.c.reject_reason,
                                      cases.c.resolved_at, cases.c.resolve_original_due_at,
                                      cases.c.resolve_due_at, cases.c.latest_rating)
                            .where(cases.c.id > last).order_by(cases.c.id).limit(5000)).all()
        if not rows:
            return
        for row in rows:
            bind.execute(sa.update(cases).where(cases.c.id == row.id).values(
                figure_class=figure_class(row.state, row.reject_reason, aware(row.resolved_at),
                                          aware(row.resolve_original_due_at),
                                          aware(row.resolve_due_at), row.latest_rating)))
        last = rows[-1].id


def _rebuild_tallies():
    from workflows.tallies import rebuild_tallies

    rebuild_tallies(op.get_bind(), _zone())


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('figure_class', sa.String(length=30), nullable=True))
    _backfill_classes()
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.alter_column('figure_class', existing_type=sa.String(length=30), nullable=False)
    op.drop_index('ix_cases_submitted_at', table_name='cases')
    op.create_index('ix_cases_submitted_at', 'cases', ['submitted_at'], unique=False,
                    postgresql_include=FIGURE_COLUMNS)
    op.drop_index('ix_cases_category_id', table_name='cases')
    op.drop_index('ix_cases_area_id', table_name='cases')
    for column in ('agency_id', 'category_id', 'area_id'):
        op.create_index(f'ix_cases_{column[:-3]}_submitted', 'cases', [column, 'submitted_at'],
                        unique=False, postgresql_include=FIGURE_COLUMNS)
    op.create_index('ix_cases_open_due', 'cases', ['due_at'], unique=False,
                    postgresql_include=['submitted_at', 'agency_id', 'category_id', 'area_id'],
                    postgresql_where=sa.text("figure_class = 'open'"),
                    sqlite_where=sa.text("figure_class = 'open'"))
    op.create_table('case_tallies', *_tally_columns(),
                    sa.PrimaryKeyConstraint('grain', 'period', 'dimension', 'key_id',
                                            name=op.f('pk_case_tallies'),
                                            postgresql_include=COUNTERS))
    op.create_index('ix_case_tallies_empty', 'case_tallies', ['grain'], unique=False,
                    postgresql_where=sa.text(ALL_ZERO), sqlite_where=sa.text(ALL_ZERO))
    op.create_table('case_tally_deltas',
                    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                              nullable=False),
                    *_tally_columns(),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_tally_deltas')))
    _rebuild_tallies()


def downgrade():
    op.drop_table('case_tally_deltas')
    op.drop_index('ix_case_tallies_empty', table_name='case_tallies')
    op.drop_table('case_tallies')
    op.drop_index('ix_cases_open_due', table_name='cases')
    for column in ('agency_id', 'category_id', 'area_id'):
        op.drop_index(f'ix_cases_{column[:-3]}_submitted', table_name='cases')
    op.create_index('ix_cases_category_id', 'cases', ['category_id'], unique=False)
    op.create_index('ix_cases_area_id', 'cases', ['area_id'], unique=False)
    op.drop_index('ix_cases_submitted_at', table_name='cases')
    op.create_index('ix_cases_submitted_at', 'cases', ['submitted_at'], unique=False,
                    postgresql_include=OLD_STATS_COLUMNS)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('figure_class')
