"""Units over time: reforms, and each unit's place per period (unit_links). Every
existing unit gets one link repeating its parent, path and validity.

Revision ID: f4a8c2e6b1d9
Revises: b7d3f1a9c5e2
Create Date: 2026-12-06 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'f4a8c2e6b1d9'
down_revision = 'b7d3f1a9c5e2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reforms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('effective', sa.Date(), nullable=False),
    sa.Column('legal_basis', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    op.create_table('unit_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('relation', sa.String(length=12), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('reform_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['units.id'], ),
    sa.ForeignKeyConstraint(['reform_id'], ['reforms.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('unit_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_links_path'), ['path'], unique=False)
        batch_op.create_index(batch_op.f('ix_unit_links_unit_id'), ['unit_id'], unique=False)
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_units_ended_by_id_reforms', 'reforms', ['ended_by_id'], ['id'])
    op.execute("INSERT INTO unit_links (unit_id, parent_id, relation, valid_from, valid_to, path) "
               "SELECT id, parent_id, 'parent', valid_from, valid_to, path FROM units")


def downgrade():
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_constraint('fk_units_ended_by_id_reforms', type_='foreignkey')
        batch_op.drop_column('ended_by_id')
    with op.batch_alter_table('unit_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_links_unit_id'))
        batch_op.drop_index(batch_op.f('ix_unit_links_path'))
    op.drop_table('unit_links')
    op.drop_table('reforms')
