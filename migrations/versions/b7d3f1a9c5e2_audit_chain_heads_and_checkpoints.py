"""The audit chain's tail: each dossier's chain head (dossiers.audit_count,
audit_head), signed checkpoints of every head (audit_checkpoints), and on
PostgreSQL triggers that refuse UPDATE, DELETE and TRUNCATE on both audit tables
(see workflow_app/models/audit.py). Existing dossiers get the head of the records
they hold: the last record's seq and hash.

Revision ID: b7d3f1a9c5e2
Revises: e8b2d4f6a1c3
Create Date: 2026-12-09 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b7d3f1a9c5e2'
down_revision = 'e8b2d4f6a1c3'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
# As in models/audit.py at this revision (a migration keeps its own copy).
TABLES = ("audit_records", "audit_checkpoints")
FUNCTION_SQL = (
    "CREATE OR REPLACE FUNCTION ntm_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', "
    "MESSAGE = TG_OP || ' on ' || TG_TABLE_NAME || ' refused: the audit trail is append-only'; END $$")


def upgrade():
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audit_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('audit_head', sa.String(length=64), server_default=GENESIS, nullable=False))
    op.execute(
        "UPDATE dossiers SET "
        "audit_count = COALESCE((SELECT max(r.seq) FROM audit_records r WHERE r.dossier_id = dossiers.id), 0), "
        f"audit_head = COALESCE((SELECT r.hash FROM audit_records r WHERE r.dossier_id = dossiers.id "
        f"ORDER BY r.seq DESC LIMIT 1), '{GENESIS}')")
    op.create_table('audit_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('made_at', sa.DateTime(), nullable=False),
    sa.Column('dossiers', sa.Integer(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('heads', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('mac', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoints')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_checkpoints_seq'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION_SQL)
        for table in TABLES:
            op.execute(f"CREATE TRIGGER ntm_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION ntm_append_only()")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS ntm_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ntm_append_only()")
    op.drop_table('audit_checkpoints')
    with op.batch_alter_table('dossiers', schema=None) as batch_op:
        batch_op.drop_column('audit_head')
        batch_op.drop_column('audit_count')
