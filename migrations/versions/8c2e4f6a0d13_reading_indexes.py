"""reading indexes: the dossiers of a scope by unit and state, and the units under a unit.

- ix_dossiers_unit_state_year (unit_id, state, year): the work queue finds the dossiers
  in its states unit by unit of the scope (with ix_dossiers_state alone the planner
  intersected every dossier in that state with each unit); the years a scope has data
  for and the list's count are read from the index alone.
- ix_unit_links_parent_id: the units under a unit (the list's search by a commune's
  name finds its villages in every period, the list's village filter) were found by
  reading every link.

Revision ID: 8c2e4f6a0d13
Revises: 7a1d0c3e5b21
Create Date: 2026-12-06 11:00:00

"""
from alembic import op

revision = '8c2e4f6a0d13'
down_revision = '7a1d0c3e5b21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.create_index('ix_dossiers_unit_state_year', ['unit_id', 'state', 'year'], unique=False)
    with op.batch_alter_table('unit_links', schema=None) as batch_op:
        batch_op.create_index('ix_unit_links_parent_id', ['parent_id'], unique=False)


def downgrade():
    with op.batch_alter_table('unit_links', schema=None) as batch_op:
        batch_op.drop_index('ix_unit_links_parent_id')
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_index('ix_dossiers_unit_state_year')
