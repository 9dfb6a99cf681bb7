"""index decision_dossiers.dossier_id: a dossier's decisions were found by
reading the whole table (the primary key leads with decision_id)

Revision ID: a3e9c4d2f1b7
Revises: 7d1e5a0c9b42
Create Date: 2026-11-26 11:20:00

"""
from alembic import op


revision = 'a3e9c4d2f1b7'
down_revision = '7d1e5a0c9b42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('decision_dossiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_dossiers_dossier_id'), ['dossier_id'], unique=False)


def downgrade():
    with op.batch_alter_table('decision_dossiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_dossiers_dossier_id'))
