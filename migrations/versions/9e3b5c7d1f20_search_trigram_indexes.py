"""search indexes: dossiers.code and units.name with pg_trgm GIN on PostgreSQL, so the
search's "contains" (ILIKE '%...%') is served by an index; on SQLite, which has no
trigram index and keeps scanning, plain indexes of the same names (the models name them).

Revision ID: 9e3b5c7d1f20
Revises: d2c7e9a4b6f1
Create Date: 2026-12-06 09:20:00

"""
from alembic import op

revision = '9e3b5c7d1f20'
down_revision = 'd2c7e9a4b6f1'
branch_labels = None
depends_on = None

INDEXES = (("ix_dossiers_code_search", "dossiers", "code"), ("ix_units_name_search", "units", "name"))


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, column in INDEXES:
            op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")
        return
    for name, table, column in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, [column], unique=False)


def downgrade():
    for name, table, _column in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    # pg_trgm stays: other objects may use it, and dropping it needs more rights than creating.
