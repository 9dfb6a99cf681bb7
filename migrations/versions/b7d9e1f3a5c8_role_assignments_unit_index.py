"""index role_assignments.unit_id: who holds a role at a unit (the register's signing
units, an office's approvers) is found by an index lookup, not a scan of every role.

Revision ID: b7d9e1f3a5c8
Revises: 8c2e4f6a0d13
Create Date: 2026-12-06 12:00:00

"""
from alembic import op

revision = 'b7d9e1f3a5c8'
down_revision = '8c2e4f6a0d13'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('role_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_role_assignments_unit_id', ['unit_id'], unique=False)


def downgrade():
    with op.batch_alter_table('role_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_role_assignments_unit_id')
