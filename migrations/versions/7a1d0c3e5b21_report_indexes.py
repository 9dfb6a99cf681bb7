"""report indexes: audit transitions by time, unit paths by prefix.

- ix_audit_records_transitions_at: the transition records by time (partial on
  PostgreSQL: `is_transition`), so the monthly report reads only the records after a
  month's end (states then = today's states less the later transitions) and the
  month's moves, never every record in scope.
- ix_unit_links_path_prefix: unit_links.path with varchar_pattern_ops on PostgreSQL,
  so the reading scope's "path LIKE '/tinh-01/%'" (permissions.scope_clause) is an
  index range instead of a scan of every link (a non-C collation cannot use
  ix_unit_links_path for LIKE). On SQLite plain indexes of the same names.

Revision ID: 7a1d0c3e5b21
Revises: 5366ddddc645
Create Date: 2026-12-06 11:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '7a1d0c3e5b21'
down_revision = '5366ddddc645'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.create_index('ix_audit_records_transitions_at', ['at'], unique=False,
                              postgresql_where=sa.text('is_transition'))
    with op.batch_alter_table('unit_links', schema=None) as batch_op:
        batch_op.create_index('ix_unit_links_path_prefix', ['path'], unique=False,
                              postgresql_ops={'path': 'varchar_pattern_ops'})


def downgrade():
    with op.batch_alter_table('unit_links', schema=None) as batch_op:
        batch_op.drop_index('ix_unit_links_path_prefix')
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_records_transitions_at')
