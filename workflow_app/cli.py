"""flask commands (names fixed by the CONTRACT)."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.exc import IntegrityError

from .clock import local_iso, local_today
from .committee_cli import committee_cli
from .extensions import db
from .reminders_cli import reminders_cli
from .services.admin.demo import seed_demo
from .services.admin.doctor import GRACE_SECONDS, check
from .services.admin.setup import init_db
from .services.core.audit import make_checkpoint, verify_trail
from .services.core.campaigns import check_campaigns
from .services.core.users import TOKEN_DAYS, create_user, find_user, new_token, revoke_tokens
from .signing.cli import signing_cli
from .storage_cli import storage_cli
from .units_cli import units_cli
from .workflow import load_all
from .workflow.diagram import mermaid
from .workflow.errors import DefinitionError, DomainError

users_cli = AppGroup("users", help="Create users and API tokens.")
states_cli = AppGroup("states", help="Check and draw workflow definitions.")
audit_cli = AppGroup("audit", help="Check the audit trail.")


def _fail(message: str) -> None:
    click.echo(message, err=True)
    sys.exit(1)


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the schema and load reference data (idempotent)."""

    added = init_db()
    click.echo(f"Database ready; {added} new units loaded.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """init-db, then demo users (one per role) and dossiers in every state (idempotent)."""

    if current_app.config["APP_ENV"] == "production":  # demo users have published passwords
        _fail("seed-demo refuses to run when APP_ENV=production: demo users sign in with known passwords. "
              "Create real users with 'flask --app wsgi users create'. / seed-demo không chạy khi "
              "APP_ENV=production: người dùng mẫu có mật khẩu ai cũng biết. Hãy tạo người dùng thật "
              "bằng 'flask --app wsgi users create'.")
    init_db()
    logins, created = seed_demo()
    click.echo(f"Demo data ready ({created} new dossiers). Demo logins (username / password / role @ unit):")
    for login in logins:
        click.echo(f"  {login.username:<18} {login.password:<14} {login.role} @ {login.unit}  — {login.note}")


@users_cli.command("create")
@click.argument("username")
@click.option("--password", help="password (required for a new user)")
@click.option("--role", required=True, help="preparer, submitter, appraiser, approver, viewer or admin")
@click.option("--unit", "unit_code", required=True, help="unit code, e.g. na-tam")
@click.option("--name", help="full name")
@click.option("--capacity", help="how an approver signs: chairman, vice_chairman, on_behalf")
@click.option("--criteria", help="limit an appraiser to these criterion codes, comma-separated")
@click.option("--email", help="e-mail address for reminders")
def users_create(username, password, role, unit_code, name, capacity, criteria, email) -> None:
    """Create a user holding ROLE at UNIT; again for the same user adds a role, and with
    a different --password signs them out everywhere and revokes their API tokens."""

    existing = find_user(username)
    session_before = existing.session_token if existing else None
    try:
        user = create_user(username, password, role, unit_code, name, capacity,
                           [c.strip() for c in criteria.split(",")] if criteria else None, email)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        _fail(exc.message("en"))
    if existing is not None and user.session_token != session_before:
        click.echo(f"New password for {user.username}: signed out of every session, API tokens revoked.")
    click.echo(f"User {user.username}: " + ", ".join(f"{ra.role}@{ra.unit.code}" for ra in user.roles))


@users_cli.command("token")
@click.argument("username")
@click.option("--days", type=int, default=None, help="Days the new token works (default 90).")
@click.option("--revoke", is_flag=True, help="Revoke every token of the user instead.")
def users_token(username, days, revoke) -> None:
    """Print a new API token (the last line of output), or revoke the user's tokens."""

    user = find_user(username)
    if user is None:
        _fail(f"No user '{username}'. Create one with: flask --app wsgi users create {username} ...")
    if revoke:
        if days is not None:
            _fail("--revoke and --days do not go together: revoke first, then issue a new token.")
        count = revoke_tokens(user)
        db.session.commit()
        click.echo(f"Revoked {count} token(s) of {username}.")
        return
    try:
        token, row = new_token(user, TOKEN_DAYS if days is None else days)
    except DomainError as exc:
        _fail(exc.message("en"))
    db.session.commit()
    until = local_iso(row.expires_at, "minutes")
    click.echo(f"API token for {username}, valid until {until} (use as 'Authorization: Bearer <token>'):")
    click.echo(token)


@states_cli.command("check")
def states_check() -> None:
    """Validate every definition in states/."""

    try:
        found = load_all(current_app.config["STATES_DIR"])
    except DefinitionError as exc:
        _fail(f"Invalid definition: {exc}")
    for (kind, version), d in sorted(found.items()):
        click.echo(f"ok  {kind} v{version}: {len(d.states)} states, {len(d.events)} events, "
                   + (f"{len(d.lines.columns)} line columns" if d.lines else f"{len(d.criteria)} criteria"))

    problems = check_campaigns(current_app.config["STATES_DIR"], {kind for kind, _ in found})
    if problems:
        _fail("Invalid campaign data: " + "; ".join(problems))
    click.echo("ok  campaigns")


@states_cli.command("diagram")
@click.argument("kind")
def states_diagram(kind) -> None:
    """Print the workflow of KIND as a Mermaid state diagram."""

    d = current_app.extensions["workflow_engine"].definition(kind)
    if d is None:
        _fail(f"Unknown kind '{kind}'.")
    click.echo(mermaid(d))


@audit_cli.command("verify")
@click.option("--max-checkpoint-age", "max_age", type=click.IntRange(min=0), default=None, metavar="DAYS",
              help="also exit 1 when the last checkpoint is older than DAYS days, or there is none "
                   "(deleting the newest checkpoints hides what they saw)")
def audit_verify(max_age: int | None) -> None:
    """Exit 0 when every dossier's audit chain is intact, reaches its head and what the
    signed checkpoints saw; 1 naming the first break. Reads only."""

    report = verify_trail()
    if report.broken:
        _fail(f"Audit chain broken {report.broken.describe()}")
    cp = report.last_checkpoint
    since = f"last checkpoint #{cp.seq} of {cp.day.isoformat()}" if cp else "no checkpoint yet"
    age = (local_today() - cp.day).days if cp else None
    if max_age is not None and (age is None or age > max_age):
        _fail(f"Audit chain intact, but {since}" + (f", {age} days old" if cp else "")
              + f" (more than {max_age}): is `audit checkpoint` running daily, or were checkpoints deleted?")
    click.echo(f"Audit chain intact: {report.checked} records checked in {len(report.heads)} dossiers; {since}.")


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Verify the audit trail, then sign a checkpoint of every dossier's chain head
    (run daily by cron); exit 1 writing nothing when the trail is broken."""


    try:
        cp, report = make_checkpoint()
        if cp is None:
            _fail(f"No checkpoint written. Audit chain broken {report.broken.describe()}")
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        _fail("No checkpoint written: another one was written at the same moment. Run the command again.")
    click.echo(f"Checkpoint #{cp.seq} of {cp.day.isoformat()}: {cp.dossiers} dossiers, {cp.records} records, "
               f"digest {cp.digest}, mac {cp.mac}")


@click.command("doctor")
@click.option("--grace", default=None, type=click.FloatRange(min=0),
              help="seconds a new file may go without its row (a transaction in flight); default 600")
@with_appcontext
def doctor_command(grace) -> None:
    """Exit 0 when registers, decisions and stored files keep their invariants; 1 listing each breach."""

    report = check(GRACE_SECONDS if grace is None else grace)
    checked = ", ".join(f"{n} {what}" for what, n in report.checked.items())
    for line in report.breaches:
        click.echo(f"BREACH {line}")
    if report.breaches:
        _fail(f"{len(report.breaches)} breaches ({checked} checked).")
    click.echo(f"No breach: {checked} checked.")


def register_cli(app: Flask) -> None:
    for command in (init_db_command, seed_demo_command, users_cli, states_cli, audit_cli, signing_cli, reminders_cli,
                    doctor_command):
        app.cli.add_command(command)

    app.cli.add_command(committee_cli)
    app.cli.add_command(units_cli)
    app.cli.add_command(storage_cli)
