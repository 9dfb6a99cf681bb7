"""`flask signing init-dev`: a development CA and an issuer's signing key.

Register with ``app.cli.add_command(signing_cli)``."""
from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app, has_app_context

from ..config import INSTANCE
from .devca import init_dev


def app_signing_dir() -> Path:
    """The folder the app signs from: its SIGNING_DIR (under `flask`, the loaded
    app's; called on its own, the environment's, with the app's default)."""
    if has_app_context():
        return Path(current_app.config["SIGNING_DIR"])
    return Path(os.environ.get("SIGNING_DIR") or INSTANCE / "signing")


@click.group("signing", help="Electronic signing (PAdES) of decision PDFs.")
def signing_cli() -> None:
    pass


@signing_cli.command("init-dev")
@click.option("--folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the files go (default: SIGNING_DIR, where the app reads them).")
@click.option("--issuer", "issuer_code", default="tam-duong", show_default=True,
              help="Issuer (unit) code; names the key and certificate files.")
@click.option("--issuer-name", default="Ủy ban nhân dân huyện Tam Đường", show_default=True,
              help="Issuing body: the certificate's O.")
@click.option("--signer", "signer_name", default="Trần Quốc Khánh", show_default=True,
              help="Signer's full name: the certificate's CN.")
@click.option("--username", "usernames", multiple=True, metavar="USERNAME",
              help="Also draw a specimen signature image for this user (repeatable).")
@click.option("--force", is_flag=True, help="Replace existing files (a new root invalidates other issuers).")
def init_dev_command(folder: Path | None, issuer_code: str, issuer_name: str, signer_name: str,
                     usernames: tuple[str, ...], force: bool) -> None:
    """Create a DEVELOPMENT root CA, an issuer signing certificate and specimen
    ("MẪU") seal and signature images (never for production)."""
    if has_app_context() and current_app.config.get("APP_ENV") == "production":
        # A development root would sign real decisions that no one can trust.
        raise click.ClickException(
            "signing init-dev refuses to run when APP_ENV=production: it makes a development CA. "
            "Put the issuer's real key and certificate in SIGNING_DIR (docs/security.md). / "
            "signing init-dev không chạy khi APP_ENV=production: lệnh này tạo chứng thư thử nghiệm. "
            "Hãy đặt khóa và chứng thư số thật của cơ quan ban hành vào SIGNING_DIR.")
    folder = folder or app_signing_dir()
    try:
        paths = init_dev(folder, issuer_code, issuer_name, signer_name, force=force, usernames=usernames)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    created = set(paths["created"])
    rows = [(label, Path(paths[label])) for label in ("root", "root_key", "key", "cert", "seal")]
    rows += [(f"signature {name}", Path(path)) for name, path in paths["signatures"].items()]
    for label, path in rows:
        state = "created" if str(path.relative_to(paths["root"].parent)) in created else "kept"
        click.echo(f"{label:<9} {path}  ({state})")
    # The app finds an issuer's files by name in SIGNING_DIR: nothing else to set.
    if folder.resolve() == app_signing_dir().resolve():
        click.echo(f"The app signs from here (SIGNING_DIR={folder.resolve()}).")
    else:
        click.echo(f"The app signs from SIGNING_DIR={app_signing_dir().resolve()}: set SIGNING_DIR={folder.resolve()} "
                   f"for it to use these files.")
