"""index dossiers (unit_id, kind, year), with id, state and round included on PostgreSQL:
a scope's dossiers of a kind and year (the dashboard's latest per applicant, the years with
data) are read from the index alone instead of every dossier of the year.

Revision ID: c9e1a3b5d7f2
Revises: b7d9e1f3a5c8
Create Date: 2026-12-06 12:10:00

"""
from alembic import op

revision = 'c9e1a3b5d7f2'
down_revision = 'b7d9e1f3a5c8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.create_index('ix_dossiers_unit_kind_year', ['unit_id', 'kind', 'year'], unique=False,
                              postgresql_include=['id', 'state', 'round'])


def downgrade():
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_index('ix_dossiers_unit_kind_year')
