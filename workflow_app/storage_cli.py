"""`flask storage ...`: the stored files (docs/operations.md, "Where the files live")."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from .services.core.storage import backend, store_for
from .services.core.storage.copy import copy_files

storage_cli = AppGroup("storage", help="Stored files: copy them from one store to another.")


@storage_cli.command("copy")
@click.option("--to", "target", required=True,
              help="the store to copy into: database, postgresql://..., s3://bucket/prefix or file:///folder")
@click.option("--from", "source", default=None,
              help="the store to copy from (same forms; default: the one STORAGE_URL names now)")
@click.option("--verify", is_flag=True, help="also compare the SHA-256 of files the target holds already")
def copy_command(target: str, source: str | None, verify: bool) -> None:
    """Copy every stored file into another store under the same key, checking each copy's
    size and SHA-256; files already there are counted, not copied again. Exit 1 if any failed."""
    try:
        origin = store_for(source) if source is not None else backend()
        destination = store_for(target)
    except RuntimeError as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    seen = 0

    def progress(report) -> None:
        nonlocal seen
        seen += 1
        if seen % 1000 == 0:
            click.echo(f"... {seen} files: {report.copied} copied, {report.present} already there", err=True)

    report = copy_files(origin, destination, verify=verify, progress=progress)
    for line in report.failed:
        click.echo(f"FAILED {line}")
    click.echo(f"{report.copied} copied, {report.present} already there, {len(report.failed)} failed.")
    if report.failed:
        sys.exit(1)
