"""Production server settings: `gunicorn -c gunicorn.conf.py wsgi:app` (`make serve`).

Every value can be set from the environment, so a deployment changes variables, not this file.
"""
import gc
import os

# Where to listen. Behind nginx on the same machine keep 127.0.0.1 and set PROXY_HOPS=1.
bind = os.environ.get("BIND", "127.0.0.1:8000")

# Processes x threads. Threads keep slow clients (district and commune offices on slow lines)
# from holding a whole process; each process has its own PDF render worker (~100-250 MB),
# so processes are what memory limits.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))

# A recognition renders and signs a PDF: allow the render's own time limit and then some,
# so the app's 503 (render_timeout) answers before the server kills the request.
timeout = int(float(os.environ.get("PDF_RENDER_TIMEOUT", "60"))) + 30
graceful_timeout = 30
keepalive = 5

# One line per request on stdout, errors on stderr (systemd or docker collect them).
accesslog = os.environ.get("ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")

# Client addresses come from PROXY_HOPS in the app (werkzeug ProxyFix), not from gunicorn.
forwarded_allow_ips = ""


def post_worker_init(worker):
    """Once per process, after the app is loaded: the objects made at start-up (~250,000 of a
    busy process's ~295,000: modules, definitions, mappings) are frozen out of garbage
    collection, so a full collection scans only what requests made since (~45,000, ~10 ms),
    not 125-165 ms on whichever request triggers it (bench/RESULTS.md, docs/operations.md)."""
    # Freeze alone, thresholds kept: a higher gen-2 threshold would hold cyclic garbage longer to skip ~10 ms pauses.
    gc.collect()
    gc.freeze()
    worker.log.info("start-up objects frozen out of garbage collection: %d", gc.get_freeze_count())
