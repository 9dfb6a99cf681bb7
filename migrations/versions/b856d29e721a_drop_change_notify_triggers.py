"""PostgreSQL: drop the ntm_notify_change triggers and their function (NOTIFY
ntm_changes, which nothing listens for); nothing on SQLite

Revision ID: b856d29e721a
Revises: f4a8c2e6b1d9
Create Date: 2026-12-06 12:00:00

"""
from alembic import op

revision = 'b856d29e721a'
down_revision = 'f4a8c2e6b1d9'
branch_labels = None
depends_on = None

# The tables that carried the trigger, and the columns whose update fired it (None: any).
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
    for table in WATCHED:
        op.execute(f"DROP TRIGGER IF EXISTS ntm_notify_change ON {table}")
    op.execute("DROP FUNCTION IF EXISTS ntm_notify_change()")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE OR REPLACE FUNCTION ntm_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
               "BEGIN PERFORM pg_notify('ntm_changes', TG_TABLE_NAME); RETURN NULL; END $$")
    for table, columns in WATCHED.items():
        update = "UPDATE" if columns is None else f"UPDATE OF {', '.join(columns)}"
        op.execute(f"CREATE TRIGGER ntm_notify_change AFTER INSERT OR {update} OR DELETE OR TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION ntm_notify_change()")
