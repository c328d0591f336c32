"""hot paths at national scale: trigram search, map and feed, work queues

Revision ID: 0006d
Revises: 0005
Create Date: 2026-12-01 09:00:00

Checked with EXPLAIN (ANALYZE, BUFFERS) on a million cases (tests/perf/run.py --explain).
PostgreSQL only: SQLite keeps its indexes of 0002 and works as before, just without these.

- ix_cases_search_trgm: the queue's free-text search is `search_text LIKE '%word%'` per word;
  a trigram GIN index answers it instead of reading every case (pg_trgm, a trusted extension
  shipped with PostgreSQL, is created if missing).
- ix_cases_lat_lon gains the columns the public map filters and sorts on, so a map viewport
  is counted and paged from the index alone, never from the wide rows.
- ix_cases_open_point: open public cases by position, the only ones `nearby` looks at.
- ix_cases_public_feed: public cases by last change, newest first: the feed without a box,
  with `since`, and with a box in a dense city, read in order instead of sorted.
- ix_cases_agency_queue: an agency's queue in the queue's order (deadline, then submission),
  so a page is the first rows of an index range, whichever states are asked for.
- ix_cases_due_queue: the same order over the whole country for the cases with a running
  deadline only (the open ones): the overdue and due-soon queues of operators and supervisors.

On a live database with millions of cases create the new ones beforehand with CREATE INDEX
CONCURRENTLY (same names and definitions): this revision then skips them (IF NOT EXISTS);
it rebuilds ix_cases_lat_lon itself.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006d'
down_revision = '0005'
branch_labels = None
depends_on = None

OPEN_STATES = "('submitted', 'assigned', 'in_progress', 'need_info')"


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.execute('CREATE INDEX IF NOT EXISTS ix_cases_search_trgm ON cases '
               'USING gin (search_text gin_trgm_ops)')
    op.drop_index('ix_cases_lat_lon', table_name='cases')
    op.create_index('ix_cases_lat_lon', 'cases', ['lat', 'lon'], postgresql_include=[
        'is_public', 'state', 'reject_reason', 'updated_at', 'id'])
    op.create_index('ix_cases_open_point', 'cases', ['lat', 'lon'], if_not_exists=True,
                    postgresql_include=['id', 'category_id'],
                    postgresql_where=sa.text(f'is_public IS true AND state IN {OPEN_STATES}'))
    op.create_index('ix_cases_public_feed', 'cases', ['updated_at', 'id'], if_not_exists=True,
                    postgresql_include=['lat', 'lon', 'state', 'reject_reason', 'category_id'],
                    postgresql_where=sa.text('is_public IS true'))
    op.create_index('ix_cases_agency_queue', 'cases',
                    ['agency_id', 'due_at', 'submitted_at', 'id'], if_not_exists=True,
                    postgresql_include=['state'])
    op.create_index('ix_cases_due_queue', 'cases', ['due_at', 'submitted_at', 'id'],
                    if_not_exists=True, postgresql_include=['state', 'agency_id'],
                    postgresql_where=sa.text('due_at IS NOT NULL'))


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_cases_due_queue', table_name='cases')
    op.drop_index('ix_cases_agency_queue', table_name='cases')
    op.drop_index('ix_cases_public_feed', table_name='cases')
    op.drop_index('ix_cases_open_point', table_name='cases')
    op.drop_index('ix_cases_lat_lon', table_name='cases')
    op.create_index('ix_cases_lat_lon', 'cases', ['lat', 'lon'])
    op.drop_index('ix_cases_search_trgm', table_name='cases')
