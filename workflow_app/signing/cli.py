"""`flask signing init-dev`: a development CA and an issuer's signing key.

Register with ``app.cli.add_command(signing_cli)``."""
from __future__ import annotations

import re
from pathlib import Path

import click

from .devca import init_dev

DEFAULT_FOLDER = "instance/signing"


def env_suffix(issuer_code: str) -> str:
    """"tam-duong" -> "TAM_DUONG"."""
    return re.sub(r"[^A-Za-z0-9]+", "_", issuer_code).strip("_").upper()


def config_lines(paths: dict, issuer_code: str) -> list[str]:
    sfx = env_suffix(issuer_code)
    return [
        f"SIGNING_KEY_{sfx}={Path(paths['key']).resolve()}",
        f"SIGNING_CERT_{sfx}={Path(paths['cert']).resolve()}",
        f"SIGNING_CHAIN_{sfx}={','.join(str(Path(p).resolve()) for p in paths['chain'])}",
        f"SIGNING_ROOT={Path(paths['root']).resolve()}",
    ]


@click.group("signing", help="Electronic signing (PAdES) of decision PDFs.")
def signing_cli() -> None:
    pass


@signing_cli.command("init-dev")
@click.option("--folder", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_FOLDER,
              show_default=True, help="Where the PEM files go.")
@click.option("--issuer", "issuer_code", default="tam-duong", show_default=True,
              help="Issuer (unit) code; names the key and certificate files.")
@click.option("--issuer-name", default="Ủy ban nhân dân huyện Tam Đường", show_default=True,
              help="Issuing body: the certificate's O.")
@click.option("--signer", "signer_name", default="Trần Quốc Khánh", show_default=True,
              help="Signer's full name: the certificate's CN.")
@click.option("--username", "usernames", multiple=True, metavar="USERNAME",
              help="Also draw a specimen signature image for this user (repeatable).")
@click.option("--force", is_flag=True, help="Replace existing files (a new root invalidates other issuers).")
def init_dev_command(folder: Path, issuer_code: str, issuer_name: str, signer_name: str,
                     usernames: tuple[str, ...], force: bool) -> None:
    """Create a DEVELOPMENT root CA, an issuer signing certificate and specimen
    ("MẪU") seal and signature images (never for production)."""
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
    click.echo("Configuration (environment or instance config):")
    for line in config_lines(paths, issuer_code):
        click.echo(f"  {line}")
