"""PostgreSQL: NOTIFY ntm_changes when what cached reads read changes (triggers,
see workflow_app/models/change_notify.py; nothing on SQLite)

Revision ID: c5f1e7a9d3b2
Revises: a3e9c4d2f1b7
Create Date: 2026-11-26 11:40:00

"""
from alembic import op


revision = 'c5f1e7a9d3b2'
down_revision = 'a3e9c4d2f1b7'
branch_labels = None
depends_on = None

# As in change_notify.py at this revision (a migration keeps its own copy).
WATCHED = {
    "api_tokens": None,
    "users": ("active",),
    "role_assignments": None,
    "units": ("path",),
    "dossiers": ("code", "unit_id"),
    "decisions": None,
    "decision_dossiers": None,
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE OR REPLACE FUNCTION ntm_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
               "BEGIN PERFORM pg_notify('ntm_changes', TG_TABLE_NAME); RETURN NULL; END $$")
    for table, columns in WATCHED.items():
        update = "UPDATE" if columns is None else f"UPDATE OF {', '.join(columns)}"
        op.execute(f"CREATE TRIGGER ntm_notify_change AFTER INSERT OR {update} OR DELETE OR TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION ntm_notify_change()")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in WATCHED:
        op.execute(f"DROP TRIGGER IF EXISTS ntm_notify_change ON {table}")
    op.execute("DROP FUNCTION IF EXISTS ntm_notify_change()")
