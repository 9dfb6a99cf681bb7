"""Every store STORAGE_URL may name keeps the same promises: bytes put and read by
their content key, read again in chunks, the same bytes put twice stored once, a
download of a file the store lost answered 404, and `flask doctor` checking each
stored file's SHA-256. The stores: a local folder; the database (the app's own,
and PostgreSQL named by URL: only when the tests run on PostgreSQL); an
S3-compatible object store (moto's S3 server, real HTTP, in a subprocess).

Then two app processes with different local folders and one database: a file
uploaded through one is downloaded, the same bytes, through the other."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from conftest import PG_URL
from gunicorn.http.wsgi import FileWrapper as GunicornFileWrapper
from helpers import PDF, dossier_in, fire, free_port, make_pdf
from sqlalchemy import event

from workflow_app.extensions import db
from workflow_app.models import Document
from workflow_app.services.admin.doctor import find_breaches
from workflow_app.services.core.storage import (
    Missing,
    backend,
    open_stored,
    path_of,
    put_bytes,
    read_bytes,
    store_for,
)
from workflow_app.services.core.storage.base import CHUNK
from workflow_app.services.core.storage.database import stored_file_chunks, stored_files
from workflow_app.services.core.storage.local import LocalStore
from workflow_app.services.core.users import issue_token

ROOT = Path(__file__).resolve().parent.parent
STORES = ["local", "database", "postgresql", "s3"]
S3_KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def wait_until_answering(port: int, process: subprocess.Popen, path: str = "/", log: Path | None = None) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(log.read_text()[-3000:] if log else f"no answer on port {port}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """moto's S3 server: an S3-compatible endpoint over HTTP on 127.0.0.1."""
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_answering(port, server, log=log)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


@pytest.fixture(params=STORES)
def store(request, app, monkeypatch):
    """The test's app with STORAGE_URL naming one kind of store."""
    kind = request.param
    if kind == "postgresql":
        if not PG_URL:
            pytest.skip("PostgreSQL by URL: run with TEST_DATABASE_URL=postgresql://...")
        app.config["STORAGE_URL"] = app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", "")
    elif kind == "database":
        app.config["STORAGE_URL"] = "database"
    elif kind == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        for name, value in S3_KEYS.items():
            monkeypatch.setenv(name, value)
        bucket = f"ntm-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        app.config.update(STORAGE_URL=f"s3://{bucket}/files", STORAGE_S3_ENDPOINT=endpoint)
    return kind


def overwrite(kind: str, key: str, data: bytes) -> None:
    """Other bytes under the key, behind the app's back (a broken disk, a hand edit)."""
    if kind == "local":
        path_of(key).write_bytes(data)
    elif kind in ("database", "postgresql"):
        db.session.execute(stored_file_chunks.delete().where(stored_file_chunks.c.key == key))
        db.session.execute(stored_file_chunks.insert().values(key=key, seq=0, data=data))
        db.session.execute(stored_files.update().where(stored_files.c.key == key).values(size=len(data)))
        db.session.commit()
    else:
        s3 = backend()
        s3.client.put_object(Bucket=s3.bucket, Key=s3.prefix + key, Body=data)


def remove(kind: str, key: str) -> None:
    if kind == "local":
        path_of(key).unlink()
    elif kind in ("database", "postgresql"):
        db.session.execute(stored_file_chunks.delete().where(stored_file_chunks.c.key == key))
        db.session.execute(stored_files.delete().where(stored_files.c.key == key))
        db.session.commit()
    else:
        s3 = backend()
        s3.client.delete_object(Bucket=s3.bucket, Key=s3.prefix + key)


def test_put_and_read(store):
    data = make_pdf(b"put and read")
    key, digest = put_bytes(data, ".pdf")
    db.session.commit()
    assert digest == hashlib.sha256(data).hexdigest() and key == f"{digest[:2]}/{digest}.pdf"
    assert read_bytes(key) == data
    assert path_of(key).read_bytes() == data  # a path on this machine, whichever the store
    assert backend().local == (store == "local")
    with pytest.raises(Missing):
        read_bytes("00/" + "0" * 64)


def test_a_file_is_read_in_chunks(store):
    data = os.urandom(2 * CHUNK + 12345)
    key, _ = put_bytes(data)
    db.session.commit()
    opened = open_stored(key)
    try:
        pieces = list(opened.chunks)
    finally:
        opened.close()
    assert opened.size == len(data) and b"".join(pieces) == data
    assert len(pieces) == 3 and all(len(p) <= CHUNK for p in pieces)
    assert opened.stored_at is not None
    with pytest.raises(Missing):
        open_stored("00/" + "0" * 64)


def test_the_same_bytes_put_twice_are_stored_once(store):
    data = make_pdf(b"twice")
    first = put_bytes(data)
    db.session.commit()
    again = put_bytes(data)
    db.session.commit()
    assert first == again
    assert [key for key, _ in backend().entries()].count(first[0]) == 1
    assert read_bytes(first[0]) == data


def test_downloads_stream_the_stored_bytes_and_a_lost_file_is_404(store, make_user, api_as):
    officer = make_user("submitter", "na-tam")
    api = api_as(officer)
    dossier = dossier_in(officer, "na-tam-01", 2024, "draft")
    content = make_pdf(b"evidence", size=3 * CHUNK // 2)  # more than one chunk
    body, content_type = multipart("minh-chung.pdf", content)  # encoded here: the test client would spool it
    r = api.post(f"/api/v1/dossiers/{dossier.id}/attachments", data=body, content_type=content_type)
    assert r.status_code == 201, r.json
    url = f"/api/v1/dossiers/{dossier.id}/attachments/{r.json['id']}"
    got = api.get(url)
    assert got.status_code == 200 and got.data == content
    assert got.headers["Content-Length"] == str(len(content))
    assert got.headers["Content-Disposition"] == "attachment; filename=minh-chung.pdf"
    part = api.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206 and part.data == content[10:20]
    remove(store, hashlib.sha256(content).hexdigest()[:2] + "/" + hashlib.sha256(content).hexdigest())
    lost = api.get(url)
    assert lost.status_code == 404 and lost.json["error"]["code"] == "not_found"


def test_the_doctor_checks_every_stored_file(store, make_user, api_as):
    officer = make_user("submitter", "na-tam")
    dossier = dossier_in(officer, "na-tam-01", 2024, "submitted")
    key = dossier.attachments[0].storage_key
    assert read_bytes(key) == PDF
    # The appraisal report is rendered and stored after its transaction commits.
    assert fire(api_as(make_user("appraiser", "tam-duong")), dossier.id, "appraise").status_code == 200
    db.session.expire_all()
    report = db.session.execute(db.select(Document).where(Document.dossier_id == dossier.id)).scalar_one()
    assert report.pdf_key and read_bytes(report.pdf_key).startswith(b"%PDF")
    assert find_breaches(grace_seconds=0) == []
    overwrite(store, key, b"not the uploaded bytes")
    breaches = find_breaches(grace_seconds=0)
    assert len(breaches) == 1 and f"file {key} has SHA-256 {hashlib.sha256(b'not the uploaded bytes').hexdigest()}" \
        in breaches[0], breaches
    stray, _ = put_bytes(b"no row names me")
    db.session.commit()
    assert any(f"stray file {stray} " in b for b in find_breaches(grace_seconds=0))
    assert not any(stray in b for b in find_breaches(grace_seconds=3600))  # young: perhaps being committed
    remove(store, key)
    assert any(f"file {key} is missing" in b for b in find_breaches(grace_seconds=0))


# ----------------------------------------------------------------------------- two machines

SERVE = """
import sys
sys.path.insert(0, "tests")
import frozen_clock
frozen_clock.start()  # the date the test's rows were made for
from werkzeug.serving import make_server
from workflow_app.app import create_app
make_server("127.0.0.1", int(sys.argv[1]), create_app(), threaded=True).serve_forever()
"""


def multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def call(port: int, path: str, token: str, body: bytes | None = None, content_type: str | None = None):
    headers = {"Authorization": f"Bearer {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def test_two_app_processes_share_the_files_through_the_database(app, make_user, tmp_path):
    """Each machine has its own folder; the database holds the rows and the files."""
    officer = make_user("submitter", "na-tam")
    dossier = dossier_in(officer, "na-tam-01", 2024, "draft")
    token = issue_token(officer)
    db.session.commit()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "TEST_DATABASE_URL", "STORAGE_URL")}
    env.update(APP_ENV="development", SECRET_KEY="one-secret-for-every-machine", STORAGE_URL="database",
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], SIGNING_DIR=str(tmp_path / "signing"),
               PUBLIC_BASE_URL="http://ntm.test", PYTHONPATH=str(ROOT))
    servers, ports = [], []
    try:
        for machine in ("a", "b"):
            port = free_port()
            log = tmp_path / f"{machine}.log"
            with open(log, "wb") as out:
                servers.append(subprocess.Popen(
                    [sys.executable, "-c", SERVE, str(port)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                    env={**env, "STORAGE_DIR": str(tmp_path / f"machine-{machine}")}))
            wait_until_answering(port, servers[-1], "/healthz", log)
            ports.append(port)
        content = make_pdf(b"uploaded on machine a", size=CHUNK + 4096)
        status, answer = call(ports[0], f"/api/v1/dossiers/{dossier.id}/attachments", token,
                              *multipart("bien-ban.pdf", content))
        assert status == 201, answer
        attachment = json.loads(answer)["id"]
        status, downloaded = call(ports[1], f"/api/v1/dossiers/{dossier.id}/attachments/{attachment}", token)
        assert status == 200 and downloaded == content
        # Neither machine kept the file: the download was streamed from the database.
        assert not any(p.is_file() for machine in "ab" for p in (tmp_path / f"machine-{machine}").rglob("*"))
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
    db.session.expire_all()
    app.config["STORAGE_URL"] = "database"
    digest = hashlib.sha256(content).hexdigest()
    assert read_bytes(f"{digest[:2]}/{digest}") == content


# ----------------------------------------------------------------------------- reads from an offset, ETags

def test_a_file_is_read_from_an_offset(store):
    data = os.urandom(2 * CHUNK + 12345)
    key, _ = put_bytes(data)
    db.session.commit()
    for start in (0, 7, CHUNK, CHUNK + 9, len(data) - 1):
        opened = backend().open(key, start)
        try:
            assert opened.size == len(data) and b"".join(opened.chunks) == data[start:], start
        finally:
            opened.close()
    assert backend().stat(key).size == len(data)
    with pytest.raises(Missing):
        backend().stat("00/" + "0" * 64)


class Reads:
    """What the store is asked for, seen where the app hands it over: the SQL that reads
    chunks (parameters included), the S3 operations and their parameters."""

    def __init__(self, kind: str) -> None:
        self.kind, self.chunks, self.s3 = kind, [], []

    def __enter__(self):
        store = backend()
        if self.kind in ("database", "postgresql"):
            self.engine = store.for_threads().engine()
            event.listen(self.engine, "before_cursor_execute", self._sql)
        elif self.kind == "s3":
            store.client.meta.events.register("before-call.s3", self._call)
        return self

    def _sql(self, conn, cursor, statement, parameters, context, executemany):
        if "FROM stored_file_chunks" in statement:
            self.chunks.append(parameters)

    def _call(self, model, params, **kwargs):
        self.s3.append((model.name, dict(params.get("headers", {}))))

    def __exit__(self, *exc):
        if self.kind in ("database", "postgresql"):
            event.remove(self.engine, "before_cursor_execute", self._sql)
        elif self.kind == "s3":
            backend().client.meta.events.unregister("before-call.s3", self._call)


def _upload(api, dossier_id: int, content: bytes) -> str:
    body, content_type = multipart("bien-ban.pdf", content)
    r = api.post(f"/api/v1/dossiers/{dossier_id}/attachments", data=body, content_type=content_type)
    assert r.status_code == 201, r.json
    return f"/api/v1/dossiers/{dossier_id}/attachments/{r.json['id']}"


def test_a_range_is_read_from_its_offset(store, make_user, api_as):
    officer = make_user("submitter", "na-tam")
    api = api_as(officer)
    content = make_pdf(b"ranges", size=2 * CHUNK + 5000)  # three chunks
    url = _upload(api, dossier_in(officer, "na-tam-01", 2024, "draft").id, content)
    start = 2 * CHUNK + 10  # in the third chunk
    # Werkzeug's own file wrapper can seek; gunicorn's (the production server) cannot.
    for server in ({}, {"wsgi.file_wrapper": GunicornFileWrapper}):
        with Reads(store) as reads:
            part = api.get(url, headers={"Range": f"bytes={start}-{start + 99}"}, environ_base=server)
        assert part.status_code == 206 and part.data == content[start:start + 100]
        assert part.headers["Content-Range"] == f"bytes {start}-{start + 99}/{len(content)}"
        if store in ("database", "postgresql"):
            seqs = [p.get("seq") if isinstance(p, dict) else p[-1] for p in reads.chunks]
            assert seqs == [2], (server, reads.chunks)  # the chunk holding the offset, none before it
        if store == "s3":
            gets = [headers for name, headers in reads.s3 if name == "GetObject"]
            assert [h.get("Range") for h in gets] == [f"bytes={start}-"], (server, reads.s3)  # a ranged GET
    tail = api.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.data == content[-10:]
    assert api.get(url, headers={"Range": f"bytes={len(content) + 5}-"}).status_code == 416


def test_downloads_carry_the_sha256_as_etag_and_answer_304(store, make_user, api_as):
    officer = make_user("submitter", "na-tam")
    api = api_as(officer)
    dossier = dossier_in(officer, "na-tam-01", 2024, "submitted")
    evidence = dossier.attachments[0]
    url = f"/api/v1/dossiers/{dossier.id}/attachments/{evidence.id}"
    digest = hashlib.sha256(PDF).hexdigest()
    assert evidence.sha256 == digest
    first = api.get(url)
    assert first.status_code == 200 and first.headers["ETag"] == f'"{digest}"'
    with Reads(store) as reads:
        again = api.get(url, headers={"If-None-Match": f'"{digest}"'})
    assert again.status_code == 304 and again.data == b""
    assert reads.chunks == [] and not any(name == "GetObject" for name, _ in reads.s3)  # nothing read
    assert api.get(url, headers={"If-None-Match": '"another"'}).status_code == 200
    # A paper of the dossier: its SHA-256 too.
    assert fire(api_as(make_user("appraiser", "tam-duong")), dossier.id, "appraise").status_code == 200
    db.session.expire_all()
    report = db.session.execute(db.select(Document).where(Document.dossier_id == dossier.id,
                                                          Document.pdf_key.is_not(None))
                                .order_by(Document.id.desc())).scalars().first()
    paper = f"/api/v1/dossiers/{dossier.id}/documents/{report.id}.pdf"
    got = api.get(paper)
    assert got.status_code == 200 and got.data.startswith(b"%PDF")
    assert got.headers["ETag"] == f'"{report.pdf_sha256}"' == f'"{hashlib.sha256(got.data).hexdigest()}"'
    assert api.get(paper, headers={"If-None-Match": got.headers["ETag"]}).status_code == 304


# ----------------------------------------------------------------------------- flask storage copy

def _target_url(store_kind: str, app, tmp_path: Path) -> str:
    return f"file://{tmp_path / 'target'}" if store_kind == "local" else app.config["STORAGE_URL"]


def test_storage_copy_moves_every_file_and_can_run_again(store, app, tmp_path):
    """From a folder into each store; run twice; a damaged source file is named, not copied."""
    source = tmp_path / "source"
    files = {}
    for i in range(3):
        data = os.urandom(CHUNK + i * 1000) if i == 2 else f"file {i}".encode()
        digest = hashlib.sha256(data).hexdigest()
        files[f"{digest[:2]}/{digest}.pdf"] = data
        LocalStore(str(source)).put(f"{digest[:2]}/{digest}.pdf", data)
    target = _target_url(store, app, tmp_path)
    runner = app.test_cli_runner()
    args = ["storage", "copy", "--from", f"file://{source}", "--to", target]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "3 copied, 0 already there, 0 failed." in first.output
    copied = store_for(target)
    for key, data in files.items():
        assert copied.read(key) == data and copied.sha256(key) == hashlib.sha256(data).hexdigest()
    again = runner.invoke(args=[*args, "--verify"])
    assert again.exit_code == 0 and "0 copied, 3 already there, 0 failed." in again.output, again.output
    # Bytes that do not match their key are refused, and the run says so.
    bad = "ab/ab" + "0" * 62 + ".pdf"
    LocalStore(str(source)).put(bad, b"not what the key names")
    broken = runner.invoke(args=args)
    assert broken.exit_code == 1, broken.output
    assert f"FAILED {bad}: the source's bytes have SHA-256" in broken.output
    assert "0 copied, 3 already there, 1 failed." in broken.output
    with pytest.raises(Missing):
        copied.stat(bad)


def test_storage_copy_from_the_configured_store(store, app, tmp_path):
    """Without --from, the store STORAGE_URL names now: out of it into a folder."""
    data = make_pdf(b"configured store")
    key, _ = put_bytes(data, ".pdf")
    db.session.commit()
    folder = tmp_path / "out"
    result = app.test_cli_runner().invoke(args=["storage", "copy", "--to", f"file://{folder}"])
    assert result.exit_code == 0, result.output
    assert "1 copied" in result.output and (folder / key).read_bytes() == data
    unknown = app.test_cli_runner().invoke(args=["storage", "copy", "--to", "ftp://nowhere"])
    assert unknown.exit_code == 2 and "unknown kind of storage" in unknown.output
