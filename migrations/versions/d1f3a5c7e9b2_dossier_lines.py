"""dossier_lines: the table of lines of dossiers defined with `lines` (funding-use
plans, cement requests), per round, with the amount granted.

Revision ID: d1f3a5c7e9b2
Revises: c9e1a3b5d7f2
Create Date: 2026-12-06 14:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd1f3a5c7e9b2'
down_revision = 'c9e1a3b5d7f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'dossier_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('values', sa.JSON(), nullable=False),
        sa.Column('granted', sa.Float(), nullable=True),
        sa.Column('origin_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_dossier_lines_dossier_id_dossiers')),
        sa.ForeignKeyConstraint(['origin_id'], ['dossier_lines.id'], name=op.f('fk_dossier_lines_origin_id_dossier_lines')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_lines')),
    )
    op.create_index('ix_dossier_lines_dossier_round', 'dossier_lines', ['dossier_id', 'round', 'position'])


def downgrade():
    op.drop_index('ix_dossier_lines_dossier_round', table_name='dossier_lines')
    op.drop_table('dossier_lines')
