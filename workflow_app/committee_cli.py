"""`flask committee ...`: the steering committee's membership as data."""
from __future__ import annotations

import sys
from datetime import date

import click
from flask.cli import AppGroup

from .clock import local_today
from .extensions import db
from .formats import vn_date
from .months import month_label, month_or_current
from .services.committee.membership import COMMITTEE_FILE, CommitteeFileError, load_committee
from .services.committee.visits import counts, report_status
from .workflow.errors import DomainError

committee_cli = AppGroup("committee", help="The steering committee (Ban chỉ đạo): members, reports.")


@committee_cli.command("load")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
def committee_load(file) -> None:
    """Load the members from FILE (default reference_data/committee.yaml); idempotent."""

    path = file or str(COMMITTEE_FILE)
    try:
        result = load_committee(path)
        db.session.commit()
    except CommitteeFileError as exc:
        db.session.rollback()
        click.echo(f"Committee file refused, nothing changed ({len(exc.problems)} problem(s)):", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    click.echo(f"Committee loaded from {path}: {result.members} members "
               f"({result.added} added, {result.updated} updated, {result.unchanged} unchanged, "
               f"{len(result.removed)} removed{': ' + ', '.join(result.removed) if result.removed else ''}).")


@committee_cli.command("status")
@click.option("--month", help="YYYY-MM (default: the current month, +07:00)")
def committee_status(month) -> None:
    """Print each member x commune's report status for a month."""

    today: date = local_today()
    try:
        month = month_or_current(month, today)
    except DomainError as exc:
        click.echo(exc.message("en"), err=True)
        sys.exit(1)
    rows = report_status(month, today)
    c = counts(rows)
    click.echo(f"Reports for {month_label(month)} (due {vn_date(rows[0].due)}):" if rows else
               f"Reports for {month_label(month)}: no committee members.")
    for r in rows:
        filed = f" filed {vn_date(r.filed_on)}" if r.filed_on else ""
        click.echo(f"  {r.user.username:<16} {r.commune.code:<14} {r.status}{filed}")
    click.echo(f"on time {c['on_time']}, late {c['late']}, missing {c['missing']}, pending {c['pending']}")
