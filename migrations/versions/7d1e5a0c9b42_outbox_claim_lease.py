"""outbox claim lease: a sending run claims a message until a time instead of
holding a lock for the whole SMTP conversation

Revision ID: 7d1e5a0c9b42
Revises: 4c3bef03d8a7
Create Date: 2026-11-26 07:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7d1e5a0c9b42'
down_revision = '4c3bef03d8a7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
