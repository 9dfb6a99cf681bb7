"""`flask units ...`: administrative reforms and unit lists as files (docs/units.md).

Each command runs in one transaction: it commits what it changed, or, with
--dry-run or on an error, rolls everything back and writes nothing."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from .extensions import db
from .services.admin.setup import apply_file
from .services.admin.unit_import import UnitImportError, import_units
from .services.core.reforms import ReformError

units_cli = AppGroup("units", help="Administrative units: apply reforms, import unit lists.")

FILE = click.Path(dir_okay=False, path_type=Path)
DRY_RUN = click.option("--dry-run", is_flag=True, help="print what would change and write nothing")


def _finish(changes: list[str], dry_run: bool, what: str) -> None:
    """Print the changes and a count; commit them unless this is a dry run."""
    for line in changes:
        click.echo(line)
    if dry_run or not changes:
        db.session.rollback()
    else:
        db.session.commit()
    if not changes:
        click.echo(f"{what}: nothing to change.")
    elif dry_run:
        click.echo(f"{what}: {len(changes)} change(s) would be made (dry run: nothing written).")
    else:
        click.echo(f"{what}: {len(changes)} change(s) applied.")


@units_cli.command("reform")
@click.argument("file", type=FILE)
@DRY_RUN
def units_reform(file: Path, dry_run: bool) -> None:
    """Apply the reform in FILE (new and abolished units, merges, moves); idempotent."""
    try:
        changes = apply_file(file)
    except ReformError as exc:
        db.session.rollback()
        click.echo(f"Reform refused, nothing changed: {exc}", err=True)
        sys.exit(1)
    _finish(changes, dry_run, file.name)


@units_cli.command("import")
@click.argument("file", type=FILE)
@DRY_RUN
def units_import(file: Path, dry_run: bool) -> None:
    """Add and update the units of FILE (CSV or YAML: code, name, level, parent,
    valid_from, valid_to); idempotent. A unit's parent changes only by a reform."""
    try:
        changes = import_units(file)
    except UnitImportError as exc:
        db.session.rollback()
        click.echo(f"Import refused, nothing changed ({len(exc.problems)} problem(s)):", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    _finish(changes, dry_run, file.name)
