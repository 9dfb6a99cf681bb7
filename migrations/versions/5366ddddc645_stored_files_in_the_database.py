"""stored_files and stored_file_chunks: files kept in the database itself
(STORAGE_URL=database or postgresql://...), content addressed, in chunks.

Revision ID: 5366ddddc645
Revises: 9e3b5c7d1f20
Create Date: 2026-12-10 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '5366ddddc645'
down_revision = '9e3b5c7d1f20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stored_files',
        sa.Column('key', sa.String(length=128), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('stored_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_stored_files')),
    )
    op.create_table(
        'stored_file_chunks',
        sa.Column('key', sa.String(length=128), nullable=False),
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['key'], ['stored_files.key'], name=op.f('fk_stored_file_chunks_key_stored_files'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('key', 'seq', name=op.f('pk_stored_file_chunks')),
    )


def downgrade():
    op.drop_table('stored_file_chunks')
    op.drop_table('stored_files')
