"""api_tokens.expires_at and revoked_at: tokens expire and can be revoked.
Tokens already issued expire 90 days after this upgrade.

Revision ID: e8b2d4f6a1c3
Revises: c5f1e7a9d3b2
Create Date: 2026-12-06 09:00:00

"""
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from workflow_app.clock import utcnow

revision = 'e8b2d4f6a1c3'
down_revision = 'c5f1e7a9d3b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(), nullable=True))
    op.get_bind().execute(sa.text("UPDATE api_tokens SET expires_at = :expires WHERE expires_at IS NULL"),
                          {"expires": utcnow() + timedelta(days=90)})
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=sa.DateTime(), nullable=False)


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('expires_at')
