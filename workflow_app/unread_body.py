"""A request refused before its body was read (429 from a rate limit, 401 from the
API gate, ...) leaves that body on the connection. gunicorn reads at most 64 KiB
of it after answering and otherwise closes the connection, although its answer
said "Connection: keep-alive": the client's next request on that connection is
lost. So once the answer is sent (the response iterable's close), the rest of the
body is read and thrown away, up to MAX_CONTENT_LENGTH and for at most
DRAIN_SECONDS; past either, the server closes the connection as before.
"""
from __future__ import annotations

import logging
import time
from functools import partial

from flask import Flask, request
from werkzeug.exceptions import RequestEntityTooLarge

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0
_PIECE = 64 * 1024


def init_unread_body(app: Flask) -> None:
    @app.after_request
    def drain_unread_body_after_answer(response):
        environ = request.environ
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if environ.get("CONTENT_LENGTH", "") in ("", "0") and not chunked:
            return response  # no body (every GET): nothing to do
        try:
            stream = request.stream  # what the app has read of it, if anything
        except RequestEntityTooLarge:
            return response  # too large to read: the server closes the connection
        limit = app.config.get("MAX_CONTENT_LENGTH") or 20 * 1024 * 1024
        response.call_on_close(partial(_drain, stream, environ.get("gunicorn.socket"), limit))
        return response


def _drain(stream, sock, limit: int) -> None:
    deadline = time.monotonic() + DRAIN_SECONDS
    previous = sock.gettimeout() if sock is not None else None
    drained = 0
    try:
        while drained < limit:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if sock is not None:
                sock.settimeout(remaining)  # a stalled client does not hold this thread
            piece = stream.read(min(_PIECE, limit - drained))
            if not piece:
                return
            drained += len(piece)
    except (OSError, ValueError, RequestEntityTooLarge) as error:  # timeout, client gone, closed stream
        log.debug("unread request body not drained: %s", error)
    finally:
        if sock is not None:
            try:
                sock.settimeout(previous)
            except OSError:
                pass
        if drained:
            log.debug("drained %d unread request body bytes", drained)

