"""Operator traps closed at the command line and at start-up: the development
signing keys go where the app reads them, a production start needs a real
PUBLIC_BASE_URL, and demo users (known passwords) never reach production."""
from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from helpers import free_port
from sqlalchemy import func, select
from test_production_server import BIN, ROOT, deployment_env

from workflow_app.config import Config
from workflow_app.extensions import db
from workflow_app.models import User
from workflow_app.signing.material import key_paths, seal_path

BASE_URL = "https://ntm.tamduong.example"


def flask_command(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


# -- (a) flask signing init-dev writes into SIGNING_DIR ----------------------------

def test_init_dev_writes_where_the_app_reads(app, tmp_path):
    assert not (tmp_path / "signing").exists()
    result = app.test_cli_runner().invoke(args=["signing", "init-dev"])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "signing"  # the app's SIGNING_DIR (conftest)
    assert app.config["SIGNING_DIR"] == str(folder)
    key, cert = key_paths(folder, "tam-duong")
    assert key.is_file() and cert.is_file() and seal_path(folder, "tam-duong").is_file()
    assert f"The app signs from here (SIGNING_DIR={folder.resolve()})" in result.output


def test_init_dev_from_the_shell_follows_the_environment(tmp_path):
    env = deployment_env(tmp_path, free_port(), APP_ENV="development", SIGNING_DIR=str(tmp_path / "keys"))
    done = flask_command(env, "signing", "init-dev", "--issuer", "na-tam")
    assert done.returncode == 0, done.stderr
    key, cert = key_paths(tmp_path / "keys", "na-tam")
    assert key.is_file() and cert.is_file()
    assert not (ROOT / "instance" / "signing" / "na-tam.key.pem").exists()


# -- (b) PUBLIC_BASE_URL at a production start -------------------------------------

def production_env(monkeypatch, **values: str) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-long-production-secret-for-this-test")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_production_needs_public_base_url(monkeypatch):
    production_env(monkeypatch)
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL is required when APP_ENV=production") as refused:
        Config()
    assert "Cần đặt biến môi trường PUBLIC_BASE_URL" in str(refused.value)
    production_env(monkeypatch, PUBLIC_BASE_URL="   ")
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL is required"):
        Config()


@pytest.mark.parametrize("url", ["ntm.tamduong.example", "/verify", "ftp://ntm.tamduong.example", "https://",
                                 "https:///verify", "javascript:alert(1)", "https://ntm.tamduong.example/?a=1",
                                 "https://ntm.tamduong.example/#top", "https://ntm tamduong.example"])
def test_public_base_url_must_be_an_absolute_http_address(monkeypatch, url):
    production_env(monkeypatch, PUBLIC_BASE_URL=url)
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL must be an absolute http:// or https:// address") as e:
        Config()
    assert "PUBLIC_BASE_URL phải là địa chỉ đầy đủ" in str(e.value) and repr(url) in str(e.value)
    monkeypatch.setenv("APP_ENV", "development")  # a wrong address is wrong everywhere
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL must be"):
        Config()


@pytest.mark.parametrize("url", [BASE_URL, "http://10.0.0.5:8080/ntm/", "HTTPS://NTM.TAMDUONG.EXAMPLE"])
def test_good_public_base_urls_start(monkeypatch, url):
    production_env(monkeypatch, PUBLIC_BASE_URL=url)
    assert Config().PUBLIC_BASE_URL == url


def test_development_starts_without_public_base_url(monkeypatch):
    monkeypatch.setenv("APP_ENV", "development")
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert Config().PUBLIC_BASE_URL == ""  # links then use http://127.0.0.1:5000


@pytest.mark.parametrize("url", ["", "ntm.tamduong.example"])
def test_gunicorn_refuses_to_start_without_a_good_public_base_url(tmp_path, url):
    env = deployment_env(tmp_path, free_port(), PUBLIC_BASE_URL=url)
    done = subprocess.run([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    expected = "PUBLIC_BASE_URL is required" if not url else "PUBLIC_BASE_URL must be an absolute"
    assert expected in done.stdout + done.stderr


def test_signing_init_dev_refuses_in_production(app):
    app.config["APP_ENV"] = "production"
    result = app.test_cli_runner().invoke(args=["signing", "init-dev"])
    assert result.exit_code == 1
    assert "signing init-dev refuses to run when APP_ENV=production" in result.output
    assert not Path(app.config["SIGNING_DIR"]).exists() or not any(Path(app.config["SIGNING_DIR"]).iterdir())


# -- (c) seed-demo never in production ---------------------------------------------

def test_seed_demo_refuses_in_production(app):
    app.config["APP_ENV"] = "production"
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 1
    assert "seed-demo refuses to run when APP_ENV=production" in result.output
    assert "seed-demo không chạy khi APP_ENV=production" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_seed_demo_from_the_shell_refuses_in_production(tmp_path):
    env = deployment_env(tmp_path, free_port(), PUBLIC_BASE_URL=BASE_URL)
    assert flask_command(env, "init-db").returncode == 0
    done = flask_command(env, "seed-demo")
    assert done.returncode == 1
    assert "seed-demo refuses to run when APP_ENV=production" in done.stderr
    with sqlite3.connect(tmp_path / "ntm.db") as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM dossiers").fetchone() == (0,)
