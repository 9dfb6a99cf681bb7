"""flask reminders send | list: the reminder outbox from cron and by hand."""
from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from .clock import to_local
from .extensions import db
from .services.notify.reminders import all_messages, send_reminders

reminders_cli = AppGroup("reminders", help="Queue and send reminder e-mails (the outbox).")



def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date YYYY-MM-DD") from None


@reminders_cli.command("send")
@click.option("--today", hidden=True, help="pretend today is YYYY-MM-DD (tests, catching up)")
def reminders_send(today) -> None:
    """Queue today's due-soon and overdue reminders, then send every unsent
    message that has an address (safe to run from cron every few minutes)."""

    summary = send_reminders(_day(today))
    click.echo(summary.line())


@reminders_cli.command("list")
@click.option("--unsent", is_flag=True, help="only messages not sent yet")
@click.option("--limit", type=int, default=200, show_default=True, help="newest N messages")
def reminders_list(unsent, limit) -> None:
    """Print the outbox, newest first: id, created, kind, recipient, dossier, status, subject."""

    rows = all_messages(unsent=unsent, limit=limit)
    for m in rows:
        created = to_local(m.created_at).strftime("%Y-%m-%d %H:%M")
        if m.sent_at:
            status = "sent " + to_local(m.sent_at).strftime("%Y-%m-%d %H:%M")
        elif not m.to_email:
            status = "no address"
        elif m.attempts:
            status = f"failed x{m.attempts}: {(m.last_error or '')[:60]}"
        else:
            status = "unsent"
        to = f"{m.to_user.username} <{m.to_email or '-'}>"
        code = m.dossier.code if m.dossier else "-"
        click.echo(f"{m.id:>6}  {created}  {m.kind:<15} {to:<40} {code:<18} {status:<24} {m.subject}")
    click.echo(f"{len(rows)} message(s).")
    db.session.rollback()
