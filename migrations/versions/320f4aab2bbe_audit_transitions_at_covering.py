"""ix_audit_records_transitions_at on (at, id), with dossier_id, action, from_state and
to_state included on PostgreSQL: a month's moves (monthly_report.moves_between, in
(at, id) order, stopping after the page's rows) and the transitions since a moment
(transitions_since: action and states grouped per dossier) are read from the index
alone instead of one record row per transition. Partial (`is_transition`) on
PostgreSQL as before; on SQLite a plain index on (at, id).

Revision ID: 320f4aab2bbe
Revises: d1f3a5c7e9b2
Create Date: 2026-12-06 17:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '320f4aab2bbe'
down_revision = 'd1f3a5c7e9b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_records_transitions_at')
        batch_op.create_index('ix_audit_records_transitions_at', ['at', 'id'], unique=False,
                              postgresql_include=['dossier_id', 'action', 'from_state', 'to_state'],
                              postgresql_where=sa.text('is_transition'))


def downgrade():
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_records_transitions_at')
        batch_op.create_index('ix_audit_records_transitions_at', ['at'], unique=False,
                              postgresql_where=sa.text('is_transition'))
