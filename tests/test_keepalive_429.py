"""A request refused before its body is read (a 429 from a rate limit, a 401 from
the API gate) must not cost the next request on the same kept-alive connection.
gunicorn with the gthread worker (gunicorn.conf.py), real HTTP/1.1 over one raw
socket: the refused request's body is larger than the 64 KiB gunicorn drains by
itself, so without the app draining it the server closes the connection."""
from __future__ import annotations

import socket
import threading

import pytest
from helpers import free_port
from test_production_server import deployment_env, gunicorn_serving

BODY = b"x" * (1024 * 1024)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keepalive")
    port = free_port()
    # One upload check a day: the second is refused before its body is read.
    env = deployment_env(folder, port, WEB_CONCURRENCY="1", WEB_THREADS="2", VERIFY_UPLOAD_RATE_LIMIT="1/day")
    with gunicorn_serving(env, folder, port):
        # Spend the day's one upload check (on a connection of its own).
        with socket.create_connection(("127.0.0.1", port), timeout=15) as conn:
            conn.sendall(post("/verify/khong-co-ma-nay", b"abc"))
            status, _, _ = read_response(conn)
            assert status != 429
        yield port


def post(path: str, body: bytes, headers: str = "") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {len(body)}\r\nAccept: application/json\r\n{headers}\r\n").encode() + body


def read_response(conn: socket.socket) -> tuple[int, dict, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = conn.recv(65536)
        if not piece:
            raise ConnectionError(f"connection closed before an answer: {data!r}")
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        piece = conn.recv(65536)
        if not piece:
            raise ConnectionError("connection closed in the middle of an answer")
        body += piece
    return status, headers, body[:length]


REFUSALS = {
    "429 from the verification rate limit": ("/verify/khong-co-ma-nay", "", 429),
    "401 from the API gate": ("/api/v1/dossiers", "", 401),
}


@pytest.mark.parametrize("refusal", REFUSALS)
def test_the_next_request_on_the_connection_is_answered_after_an_early_refusal(server, refusal):
    path, headers, status = REFUSALS[refusal]
    with socket.create_connection(("127.0.0.1", server), timeout=15) as conn:
        request = post(path, BODY, headers)
        # The client sends the whole body while the server answers (it does not wait
        # for the body before refusing): a thread sends, this one reads.
        sent: list[BaseException] = []

        def send() -> None:
            try:
                conn.sendall(request)
            except OSError as error:
                sent.append(error)
        sender = threading.Thread(target=send)
        sender.start()
        first_status, first_headers, _ = read_response(conn)
        sender.join(15)
        assert first_status == status
        assert first_headers["connection"] == "keep-alive"
        if status == 429:
            assert int(first_headers["retry-after"]) > 0
        assert sent == [], f"the server stopped reading the body: {sent}"
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        second_status, _, second_body = read_response(conn)
        assert (second_status, second_body.strip()) == (200, b'{"status":"ok"}')
