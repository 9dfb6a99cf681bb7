"""attachments.removed_at and removed_by_id: an evidence file removed while the
dossier is with its applicant stays in the history (row and bytes kept).

Revision ID: d2c7e9a4b6f1
Revises: b856d29e721a
Create Date: 2026-12-06 11:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd2c7e9a4b6f1'
down_revision = 'b856d29e721a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('removed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('removed_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_attachments_removed_by_id_users'), 'users', ['removed_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_attachments_removed_by_id_users'), type_='foreignkey')
        batch_op.drop_column('removed_by_id')
        batch_op.drop_column('removed_at')
