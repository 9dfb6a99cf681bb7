"""On PostgreSQL, a change to what cached reads read is announced to every process
(workflow_app/read_cache.py): a statement-level trigger per table sends NOTIFY
ntm_changes, which the server delivers when the transaction commits (and never if
it rolls back).

WATCHED names, per table, the changes that count: any row written, or only
updates of the listed columns (an UPDATE that does not set them, a dossier's state
change for instance, says nothing). tests/test_read_cache.py checks that every
column a cached statement reads is watched. Created by db.create_all (the DDL
events below) and, in existing databases, by migration c5f1e7a9d3b2.
"""
from __future__ import annotations

from sqlalchemy import DDL, MetaData, event

CHANNEL = "ntm_changes"
FUNCTION_NAME = "ntm_notify_change"
ALL = None  # every insert, update, delete and truncate
WATCHED: dict[str, tuple[str, ...] | None] = {
    "api_tokens": ALL,
    "users": ("active",),
    "role_assignments": ALL,
    "units": ("path",),
    "dossiers": ("code", "unit_id"),
    "decisions": ALL,
    "decision_dossiers": ALL,
}

FUNCTION_SQL = (f"CREATE OR REPLACE FUNCTION {FUNCTION_NAME}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$")


def trigger_sql(table: str) -> str:
    columns = WATCHED[table]
    update = "UPDATE" if columns is ALL else f"UPDATE OF {', '.join(columns)}"
    return (f"CREATE TRIGGER {FUNCTION_NAME} AFTER INSERT OR {update} OR DELETE OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION_NAME}()")


def install(metadata: MetaData) -> None:
    """The function and triggers, made with the tables by create_all (PostgreSQL only)."""
    event.listen(metadata, "before_create", DDL(FUNCTION_SQL).execute_if(dialect="postgresql"))
    for table in WATCHED:
        event.listen(metadata.tables[table], "after_create", DDL(trigger_sql(table)).execute_if(dialect="postgresql"))
