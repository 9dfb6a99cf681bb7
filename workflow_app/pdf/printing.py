"""How the app prints: the HTML is rendered here, laid out by WeasyPrint in a
worker process (worker.py runs render.layout_pdf), and the PDF comes back. The
app's settings (PDF_WATERMARK, PDF_RENDER_*) are read here: render.py and worker.py
know no Flask, so the render workers' forkserver loads neither."""
from __future__ import annotations

import logging

from flask import current_app, has_app_context

from . import worker
from .render import RenderedPdf, render_html

log = logging.getLogger(__name__)


def render_document(template_name: str, context: dict, *, timeout: float | None = None,
                    recycle: int | None = None, max_mb: int | None = None) -> RenderedPdf:
    """Render in a worker process (time limit, bounded memory: see worker.py); the
    PDF with its slots. Settings default to the app's PDF_RENDER_* configuration.
    Raises worker.RenderTimeout / RenderFailed (503) besides the errors of render_html."""
    config = current_app.config if has_app_context() else {}
    html = render_html(template_name, context, watermark())
    reply = worker.run("layout", html, timeout=timeout or config.get("PDF_RENDER_TIMEOUT"),
                       recycle=recycle or config.get("PDF_RENDER_RECYCLE"),
                       workers=config.get("PDF_RENDER_WORKERS"),
                       max_mb=max_mb if max_mb is not None else config.get("PDF_RENDER_MAX_MB"))
    pdf, slots = reply.result
    log.debug("rendered %s in worker %d: %d bytes", template_name, reply.pid, len(pdf))
    return RenderedPdf(pdf, slots, reply.pid)


def render_pdf(template_name: str, context: dict) -> bytes:
    """Render ``templates/<template_name>`` with ``context`` to PDF bytes (in a worker)."""
    return render_document(template_name, context).pdf


def watermark() -> str:
    """The app's PDF_WATERMARK ("MẪU" in development, "" in production: config.py);
    none without an app (scripts, pure tests)."""
    return str(current_app.config.get("PDF_WATERMARK") or "") if has_app_context() else ""
